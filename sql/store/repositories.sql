-- The store's statements for repositories (server/src/store/repositories.rs), run as they are on both
-- backends after dialect rendering (docs/architecture.md).

-- name: namespace_by_name
SELECT id, enabled, organization FROM "user" WHERE username = $1 AND NOT robot

-- name: repository_names_after
-- Full names of every live image repository of an enabled namespace after $1 (byte order), at
-- most $2: the catalog of configured superusers.
SELECT r.id, ns.username || '/' || r.name AS full_name
  FROM repository r
  JOIN repositorykind k ON k.id = r.kind_id AND k.name = 'image'
  JOIN "user" ns ON ns.id = r.namespace_user_id
 WHERE r.state <> 3 AND ns.enabled = true
   AND (ns.username || '/' || r.name){collate_c} > $1{collate_c}
 ORDER BY (ns.username || '/' || r.name){collate_c}
 LIMIT $2

-- name: repository_names
-- Full names of live repositories with ids in [$1, $2].
SELECT r.id, ns.username, r.name
  FROM repository r JOIN "user" ns ON ns.id = r.namespace_user_id
 WHERE r.id >= $1 AND r.id <= $2 AND r.state <> 3

-- name: repositories_with_blob
-- Live repositories whose manifests use, or whose unexpired upload links hold, blob $1.
SELECT DISTINCT x.repository_id FROM (
    SELECT mb.repository_id FROM manifestblob mb JOIN imagestorage s ON s.id = mb.blob_id
     WHERE s.content_checksum = $1
    UNION
    SELECT u.repository_id FROM uploadedblob u JOIN imagestorage s ON s.id = u.blob_id
     WHERE s.content_checksum = $1 AND u.expires_at > {now}
) x JOIN repository r ON r.id = x.repository_id AND r.state <> 3
ORDER BY 1
LIMIT 100

-- name: api_page
-- One page of the live image repositories caller $1 (-1: anonymous) may list, after id $2, at
-- most $3 rows, in id order, public ones it has no grant on only when $4 (Quay's
-- `public=true`). The store puts its filters in place of the marker below (a namespace as $6,
-- only the caller's starred ones), so each combination is its own prepared statement with a
-- sound generic plan (see docs/decisions.md). A grant is any
-- source of role_rank but public visibility: `v` is a constant 'private' so the rule's public
-- fallback never applies, `rv` the real visibility. Columns: id, namespace, name, description,
-- public, state, starred by the caller, newest alive tag's start (ms), and with $5 a date
-- ('YYYY-MM-DD', else '') Quay's popularity: the repository's actions counted since that day.
SELECT r.id, ns.username, r.name, r.description, rv.name = 'public', r.state,
       EXISTS (SELECT 1 FROM star s WHERE s.repository_id = r.id AND s.user_id = $1),
       (SELECT max(t.lifetime_start_ms) FROM tag t
         WHERE t.repository_id = r.id AND NOT t.hidden
           AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > {now_ms})),
       CASE WHEN $5 = '' THEN NULL
            ELSE (SELECT CAST(COALESCE(SUM(a.count), 0) AS BIGINT) FROM repositoryactioncount a
                   WHERE a.repository_id = r.id AND {day:a.date} >= $5) END
  FROM repository r
  JOIN visibility rv ON rv.id = r.visibility_id
  CROSS JOIN (SELECT 'private' AS name) v
  JOIN repositorykind k ON k.id = r.kind_id AND k.name = 'image'
  JOIN "user" ns ON ns.id = r.namespace_user_id
  LEFT JOIN "user" c ON c.id = $1 AND c.enabled = true
 WHERE r.state <> 3 AND ns.enabled = true AND r.id > $2
   /* filters */
   AND (({role_rank}) IS NOT NULL OR ($4 = true AND rv.name = 'public'))
 ORDER BY r.id
 LIMIT $3

-- name: api_view
-- Repository $2 of namespace $1 as the API shows it: id, description, public, state, badge
-- token, namespace is an organization, namespace's tag expiration, starred by caller $3.
SELECT r.id, r.description, v.name = 'public', r.state, r.badge_token, ns.organization,
       ns.removed_tag_expiration_s,
       EXISTS (SELECT 1 FROM star s WHERE s.repository_id = r.id AND s.user_id = $3)
  FROM repository r
  JOIN visibility v ON v.id = r.visibility_id
  JOIN "user" ns ON ns.id = r.namespace_user_id
 WHERE ns.username = $1 AND r.name = $2 AND r.state <> 3

-- name: api_active_tags
-- The alive, visible tags of repository $1 by name: name, manifest digest, start (ms), size of
-- the manifest's layers (NULL for lists).
SELECT t.name, m.digest, t.lifetime_start_ms, m.layers_compressed_size
  FROM tag t JOIN manifest m ON m.id = t.manifest_id
 WHERE t.repository_id = $1 AND NOT t.hidden
   AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > {now_ms})
 ORDER BY t.name

-- name: star_add
-- User $1 stars repository $2 (once).
INSERT INTO star (user_id, repository_id, created)
SELECT $1, $2, {now}
 WHERE NOT EXISTS (SELECT 1 FROM star WHERE user_id = $1 AND repository_id = $2)
ON CONFLICT DO NOTHING

-- name: star_remove
-- User $1 unstars repository $3 of namespace $2 (nothing when it had not starred it).
DELETE FROM star
 WHERE user_id = $1
   AND repository_id IN (SELECT r.id FROM repository r JOIN "user" ns ON ns.id = r.namespace_user_id
                          WHERE ns.username = $2 AND r.name = $3)

-- name: api_search
-- Live image repositories caller $1 (-1: anonymous) can read whose name contains $2 (LIKE
-- pattern, `\` escapes), by namespace and name: at most $3 after skipping $4. Columns: id,
-- namespace, name, description, public, namespace is an organization, namespace e-mail.
SELECT r.id, ns.username, r.name, r.description, v.name = 'public', ns.organization, ns.email
  FROM repository r
  JOIN visibility v ON v.id = r.visibility_id
  JOIN repositorykind k ON k.id = r.kind_id AND k.name = 'image'
  JOIN "user" ns ON ns.id = r.namespace_user_id
  LEFT JOIN "user" c ON c.id = $1 AND c.enabled = true
 WHERE r.state <> 3 AND ns.enabled = true
   AND r.name LIKE $2 ESCAPE '\'
   AND ({role_rank}) IS NOT NULL
 ORDER BY ns.username, r.name
 LIMIT $3 OFFSET $4

-- name: action_counts
-- Daily action counts of repository $1 (Quay's repositoryactioncount) on or after day $2
-- (YYYY-MM-DD): day, count.
SELECT {day:date}, count FROM repositoryactioncount
 WHERE repository_id = $1 AND {day:date} >= $2
 ORDER BY date
