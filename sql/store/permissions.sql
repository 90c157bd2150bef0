-- The store's statements for repository permissions (server/src/store/permissions.rs), run as
-- they are on both backends after dialect rendering (docs/architecture.md).

-- name: user_grants
-- The users (people and robots) with a direct permission on repository $1, by name: username,
-- e-mail, robot, role, member of the repository's organization (in one of its teams, or one of
-- its robots).
SELECT u.username, u.email, u.robot, ro.name,
       EXISTS (SELECT 1 FROM teammember tm JOIN team t ON t.id = tm.team_id
                WHERE tm.user_id = u.id AND t.organization_id = r.namespace_user_id)
       OR (u.robot AND substr(u.username, 1, length(ns.username) + 1) = ns.username || '+')
  FROM repositorypermission p
  JOIN repository r ON r.id = p.repository_id
  JOIN "user" ns ON ns.id = r.namespace_user_id
  JOIN "user" u ON u.id = p.user_id
  JOIN role ro ON ro.id = p.role_id
 WHERE p.repository_id = $1
 ORDER BY u.username

-- name: team_grants
-- The teams with a permission on repository $1, by name: team, role.
SELECT t.name, ro.name
  FROM repositorypermission p
  JOIN team t ON t.id = p.team_id
  JOIN role ro ON ro.id = p.role_id
 WHERE p.repository_id = $1
 ORDER BY t.name

-- name: transitive_roles
-- Every role user $2 holds on repository $1: direct, and through each of its teams.
SELECT ro.name FROM repositorypermission p JOIN role ro ON ro.id = p.role_id
 WHERE p.repository_id = $1
   AND (p.user_id = $2 OR p.team_id IN (SELECT tm.team_id FROM teammember tm WHERE tm.user_id = $2))
 ORDER BY p.id

-- name: team_repository_grants
-- The live repositories team $1 has a permission on, by name: name, public, role.
SELECT r.name, v.name = 'public', ro.name
  FROM repositorypermission p
  JOIN repository r ON r.id = p.repository_id AND r.state <> 3
  JOIN visibility v ON v.id = r.visibility_id
  JOIN role ro ON ro.id = p.role_id
 WHERE p.team_id = $1
 ORDER BY r.name
