-- The store's statements for robots (server/src/store/robots.rs), run as they are on both
-- backends after dialect rendering (docs/architecture.md).

-- name: robots_of
-- The robots of namespace $1 (username `$1+short`) by name: id, username, description,
-- unstructured metadata, created, last accessed, field-encrypted token.
SELECT r.id, r.username, m.description, m.unstructured_json, {ts:r.creation_date},
       {ts:r.last_accessed}, t.token
  FROM "user" r
  LEFT JOIN robotaccountmetadata m ON m.robot_account_id = r.id
  LEFT JOIN robotaccounttoken t ON t.robot_account_id = r.id
 WHERE r.robot AND substr(r.username, 1, length($1) + 1) = $1 || '+'
 ORDER BY r.username

-- name: robot_grants
-- The live repositories robot $1 has a permission on, by name: name, public, role.
SELECT r.name, v.name = 'public', ro.name
  FROM repositorypermission p
  JOIN repository r ON r.id = p.repository_id AND r.state <> 3
  JOIN visibility v ON v.id = r.visibility_id
  JOIN role ro ON ro.id = p.role_id
 WHERE p.user_id = $1
 ORDER BY r.name

-- name: robot_teams
SELECT t.name FROM teammember tm JOIN team t ON t.id = tm.team_id WHERE tm.user_id = $1 ORDER BY t.name
