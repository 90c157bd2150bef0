-- The store's statements for default permissions (server/src/store/prototypes.rs).

-- name: prototypes_of
-- The default permissions of organization $1 in creation order: uuid, role; activating user
-- (name, e-mail, robot, member of the organization); delegate user (the same four); delegate team.
SELECT p.uuid, ro.name,
       a.username, a.email, a.robot,
       EXISTS (SELECT 1 FROM teammember tm JOIN team t2 ON t2.id = tm.team_id
                WHERE tm.user_id = a.id AND t2.organization_id = o.id)
       OR (a.robot AND substr(a.username, 1, length(o.username) + 1) = o.username || '+'),
       d.username, d.email, d.robot,
       EXISTS (SELECT 1 FROM teammember tm JOIN team t2 ON t2.id = tm.team_id
                WHERE tm.user_id = d.id AND t2.organization_id = o.id)
       OR (d.robot AND substr(d.username, 1, length(o.username) + 1) = o.username || '+'),
       t.name
  FROM permissionprototype p
  JOIN "user" o ON o.id = p.org_id
  JOIN role ro ON ro.id = p.role_id
  LEFT JOIN "user" a ON a.id = p.activating_user_id
  LEFT JOIN "user" d ON d.id = p.delegate_user_id
  LEFT JOIN team t ON t.id = p.delegate_team_id
 WHERE p.org_id = $1
 ORDER BY p.id
