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
