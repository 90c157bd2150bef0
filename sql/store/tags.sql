-- The store's statements for tags (server/src/store/tags.rs), run as they are on both
-- backends after dialect rendering (docs/architecture.md).

-- name: tag_names
-- Alive visible tag names after $2 (exclusive) in name order, at most $3.
SELECT DISTINCT t.name
  FROM tag t
 WHERE t.repository_id = $1 AND NOT t.hidden AND t.name > $2
   AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > {now_ms})
 ORDER BY t.name
 LIMIT $3

-- name: referrers
-- Manifests of the repository whose subject is $2 and that something keeps alive.
SELECT m.digest, mt.name, m.manifest_bytes, m.artifact_type, m.config_media_type
  FROM manifest m JOIN mediatype mt ON mt.id = m.media_type_id
 WHERE m.repository_id = $1 AND m.subject = $2
   AND EXISTS (SELECT 1 FROM tag t WHERE t.manifest_id = m.id
                 AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > {now_ms}))
 ORDER BY m.id

-- name: api_history
-- Tag generations of repository $1 (hidden ones excluded), newest first, at most $2 after
-- skipping $3. The store puts its filters (a name, a LIKE pattern, only alive ones) in place of
-- the marker with parameters from $4, so each combination is its own statement: with
-- `($n = '' OR ...)` patterns PostgreSQL's generic plan expects one row and sorts every tag.
-- Columns: name, manifest digest, start ms, end ms, reversion, layers size, media type,
-- manifest id.
SELECT t.name, m.digest, t.lifetime_start_ms, t.lifetime_end_ms, t.reversion,
       m.layers_compressed_size, mt.name, m.id
  FROM tag t
  JOIN manifest m ON m.id = t.manifest_id
  JOIN mediatype mt ON mt.id = m.media_type_id
 WHERE t.repository_id = $1 AND t.hidden = false /* filters */
 ORDER BY t.lifetime_start_ms DESC, t.id DESC
 LIMIT $2 OFFSET $3

-- name: api_children
-- The child manifests' digests of manifest $1.
SELECT c.digest FROM manifestchild mc JOIN manifest c ON c.id = mc.child_manifest_id
 WHERE mc.manifest_id = $1
 ORDER BY mc.id
