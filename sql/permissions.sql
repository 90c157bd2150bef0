-- Permission filtering (quay_core::permissions): quay.repository_role, quay.repository_access
-- and quay.visible_repositories, after quay-data-model.md §6. Rank: 1 read, 2 write, 3 admin;
-- the effective role is the highest source (role_rank).

-- name: role_rank
-- An expression, not a statement: the rank (3 admin, 2 write, 1 read, NULL none) of the caller
-- on repository `r` with visibility `v`, where `c` is the caller's user row if it is enabled
-- (NULL: anonymous, or disabled, which counts as anonymous). The highest source wins: owning
-- the namespace or membership of an admin team of its organization (3), direct and team grants
-- (their role), public visibility (1). Every role decision embeds this one text.
CASE
  WHEN r.namespace_user_id = c.id
    OR EXISTS (SELECT 1 FROM team t
                 JOIN teamrole tr ON tr.id = t.role_id AND tr.name = 'admin'
                 JOIN teammember tm ON tm.team_id = t.id
                WHERE t.organization_id = r.namespace_user_id AND tm.user_id = c.id)
  THEN 3
  ELSE COALESCE(
    (SELECT MAX(CASE ro.name WHEN 'admin' THEN 3 WHEN 'write' THEN 2 ELSE 1 END)
       FROM repositorypermission p JOIN role ro ON ro.id = p.role_id
      WHERE p.repository_id = r.id
        AND (p.user_id = c.id
             OR p.team_id IN (SELECT tm.team_id FROM teammember tm WHERE tm.user_id = c.id))),
    CASE WHEN v.name = 'public' THEN 1 END)
END

-- name: repository_access
-- The live repository $1/$2 (any kind, state or namespace state: the caller decides) with the
-- rank of caller $3 (NULL: anonymous) on it: what every registry request decides on, in one
-- statement. A read adds its object's columns and joins (<more_columns>, <more_joins>: tags.sql
-- read_by_tag / read_by_digest, blobs.sql read_blob / read_shared_blob), so a pull is one round
-- trip.
SELECT r.id, r.namespace_user_id, v.name = 'public', k.name = 'image', r.state, ns.enabled,
       {role_rank} AS rank{more_columns}
  FROM repository r
  JOIN "user" ns ON ns.id = r.namespace_user_id
  JOIN visibility v ON v.id = r.visibility_id
  JOIN repositorykind k ON k.id = r.kind_id
  LEFT JOIN "user" c ON c.id = $3 AND c.enabled = true
  {more_joins}
 WHERE ns.username = $1 AND r.name = $2 AND r.state <> 3

-- name: role_on
-- The rank of caller $2 (-1: anonymous) on repository $1 if it is a live image repository of an
-- enabled namespace (quay.repository_role).
SELECT {role_rank}
  FROM repository r
  JOIN visibility v ON v.id = r.visibility_id
  JOIN repositorykind k ON k.id = r.kind_id AND k.name = 'image'
  JOIN "user" ns ON ns.id = r.namespace_user_id
  LEFT JOIN "user" c ON c.id = $2 AND c.enabled = true
 WHERE r.id = $1 AND r.state <> 3 AND ns.enabled = true

-- name: grants
-- Every (repository, rank) of caller $2 (-1: anonymous) over live image repositories of enabled
-- namespaces; $1 narrows to one repository (-1: all), $3 to one namespace name ('': all). The
-- candidates are the repositories a source could give the caller a role on (public ones, its
-- own and its teams' grants, its organizations' through a team, its own namespace's), found by
-- index, so a list never computes a rank for every repository; role_rank decides.
SELECT g.rid AS rid, g.rank AS rank FROM (
    SELECT r.id AS rid, {role_rank} AS rank
      FROM repository r
      JOIN visibility v ON v.id = r.visibility_id
      JOIN repositorykind k ON k.id = r.kind_id AND k.name = 'image'
      JOIN "user" ns ON ns.id = r.namespace_user_id
      LEFT JOIN "user" c ON c.id = $2 AND c.enabled = true
     WHERE r.state <> 3 AND ns.enabled = true
       AND ($1 < 0 OR r.id = $1)
       AND ($3 = '' OR ns.username = $3)
       AND r.id IN (
           SELECT pr.id FROM repository pr JOIN visibility pv ON pv.id = pr.visibility_id
            WHERE pv.name = 'public'
           UNION
           SELECT p.repository_id FROM repositorypermission p WHERE p.user_id = $2
           UNION
           SELECT p.repository_id FROM repositorypermission p
             JOIN teammember tm ON tm.team_id = p.team_id
            WHERE tm.user_id = $2
           UNION
           SELECT tr.id FROM repository tr
             JOIN team t ON t.organization_id = tr.namespace_user_id
             JOIN teammember tm ON tm.team_id = t.id
            WHERE tm.user_id = $2
           UNION
           SELECT orr.id FROM repository orr WHERE orr.namespace_user_id = $2)
) g
WHERE g.rank IS NOT NULL
ORDER BY g.rid

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

-- name: namespace_role
-- The role of caller $2 (NULL or disabled: none) in namespace $1 (a user or organization name),
-- and the namespace: id, whether it is an organization, whether it is enabled, then the role:
-- 'owner' (the namespace is the caller), else the best team role in the organization
-- ('admin' | 'creator' | 'member'), else NULL. No row: no such namespace.
SELECT ns.id, ns.organization, ns.enabled,
       CASE WHEN c.id IS NULL THEN NULL
            WHEN ns.id = c.id THEN 'owner'
            ELSE (SELECT CASE max(CASE tr.name WHEN 'admin' THEN 3 WHEN 'creator' THEN 2 ELSE 1 END)
                           WHEN 3 THEN 'admin' WHEN 2 THEN 'creator' WHEN 1 THEN 'member' END
                    FROM teammember tm
                    JOIN team t ON t.id = tm.team_id
                    JOIN teamrole tr ON tr.id = t.role_id
                   WHERE tm.user_id = c.id AND t.organization_id = ns.id)
       END
  FROM "user" ns
  LEFT JOIN "user" c ON c.id = $2 AND c.enabled AND NOT c.organization
 WHERE ns.username = $1 AND NOT ns.robot

-- name: grant_target_repository
-- Live repository $1's namespace.
SELECT namespace_user_id FROM repository WHERE id = $1 AND state <> 3

-- name: grant_target_user
-- User $1 if it can be given a permission on a repository of namespace $2: an enabled person,
-- or an enabled robot of that namespace (Quay refuses other namespaces' robots).
SELECT u.id FROM "user" u JOIN "user" ns ON ns.id = $2
 WHERE u.id = $1 AND NOT u.organization AND u.enabled
   AND (NOT u.robot OR substr(u.username, 1, length(ns.username) + 1) = ns.username || '+')

-- name: grant_holder_user
-- User $1 if it may hold a permission at all (removing one): not an organization.
SELECT id FROM "user" WHERE id = $1 AND NOT organization

-- name: grant_target_team
-- Team $1 if it belongs to organization $2.
SELECT id FROM team WHERE id = $1 AND organization_id = $2

-- name: upsert_user_grant
-- User $1's role on repository $2 becomes role $3 (inserted or changed).
INSERT INTO repositorypermission (user_id, repository_id, role_id)
SELECT $1, $2, ro.id FROM role ro WHERE ro.name = $3
ON CONFLICT (user_id, repository_id) DO UPDATE SET role_id = excluded.role_id

-- name: upsert_team_grant
INSERT INTO repositorypermission (team_id, repository_id, role_id)
SELECT $1, $2, ro.id FROM role ro WHERE ro.name = $3
ON CONFLICT (team_id, repository_id) DO UPDATE SET role_id = excluded.role_id

-- name: delete_user_grant
DELETE FROM repositorypermission WHERE user_id = $1 AND repository_id = $2 RETURNING id

-- name: delete_team_grant
DELETE FROM repositorypermission WHERE team_id = $1 AND repository_id = $2 RETURNING id
