-- Permission filtering (quay_core::permissions): quay.repository_role and
-- quay.visible_repositories, after quay-data-model.md §6. $2 is the caller's user id (-1 for
-- anonymous). Rank: 1 read, 2 write, 3 admin; the effective role is the highest source.

-- name: caller_enabled
SELECT enabled FROM "user" WHERE id = $1

-- name: grants
-- Every (repository, rank) a caller gets from each source, for live image repositories of
-- enabled namespaces; $1 narrows to one repository (NULL: all), $3 to one namespace name.
SELECT x.rid AS rid, MAX(x.rank) AS rank FROM (
    SELECT r.id AS rid, 1 AS rank
      FROM repository r JOIN visibility v ON v.id = r.visibility_id
     WHERE v.name = 'public'
    UNION ALL
    SELECT p.repository_id, CASE ro.name WHEN 'admin' THEN 3 WHEN 'write' THEN 2 ELSE 1 END
      FROM repositorypermission p JOIN role ro ON ro.id = p.role_id
     WHERE p.user_id = $2
    UNION ALL
    SELECT p.repository_id, CASE ro.name WHEN 'admin' THEN 3 WHEN 'write' THEN 2 ELSE 1 END
      FROM repositorypermission p JOIN role ro ON ro.id = p.role_id
      JOIN teammember tm ON tm.team_id = p.team_id
     WHERE tm.user_id = $2
    UNION ALL
    SELECT r.id, 3
      FROM repository r JOIN team t ON t.organization_id = r.namespace_user_id
      JOIN teamrole tr ON tr.id = t.role_id AND tr.name = 'admin'
      JOIN teammember tm ON tm.team_id = t.id
     WHERE tm.user_id = $2
    UNION ALL
    SELECT r.id, 3 FROM repository r WHERE r.namespace_user_id = $2
) x
JOIN repository r ON r.id = x.rid
JOIN repositorykind k ON k.id = r.kind_id AND k.name = 'image'
JOIN "user" ns ON ns.id = r.namespace_user_id
WHERE r.state <> 3 AND ns.enabled = true
  AND ($1 < 0 OR r.id = $1)
  AND ($3 = '' OR ns.username = $3)
GROUP BY x.rid
ORDER BY x.rid

-- name: visible_names
-- A page of the caller's readable repositories by full name (the catalog): the grants above
-- ($1 = -1: every repository, $2 caller, $3 = '': every namespace), named, after $4 in byte
-- order, at most $5.
SELECT g.rid, ns.username || '/' || r.name AS full_name
  FROM ({grants}) g
  JOIN repository r ON r.id = g.rid
  JOIN "user" ns ON ns.id = r.namespace_user_id
 WHERE (ns.username || '/' || r.name){collate_c} > $4{collate_c}
 ORDER BY (ns.username || '/' || r.name){collate_c}
 LIMIT $5

-- name: readable_with_blob
-- The first repository (by id) the caller ($2) can read that uses or holds an unexpired upload
-- link to blob $4: where a mount without `from` takes the blob from. One query for every candidate.
SELECT g.rid FROM ({grants}) g
 WHERE g.rid IN (SELECT mb.repository_id FROM manifestblob mb JOIN imagestorage s ON s.id = mb.blob_id
                  WHERE s.content_checksum = $4
                 UNION
                 SELECT u.repository_id FROM uploadedblob u JOIN imagestorage s ON s.id = u.blob_id
                  WHERE s.content_checksum = $4 AND u.expires_at > {now})
 ORDER BY g.rid
 LIMIT 1
