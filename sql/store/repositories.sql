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
