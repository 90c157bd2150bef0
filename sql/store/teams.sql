-- The store's statements for teams and entity search (server/src/store/teams.rs), run as they
-- are on both backends after dialect rendering (docs/architecture.md).

-- name: team_by_name
-- Team $2 of organization $1: id, team role, description.
SELECT t.id, tr.name, t.description
  FROM team t JOIN teamrole tr ON tr.id = t.role_id
 WHERE t.organization_id = $1 AND t.name = $2

-- name: team_members
-- The members of team $1 by name: username, e-mail, robot.
SELECT u.username, u.email, u.robot
  FROM teammember tm JOIN "user" u ON u.id = tm.user_id
 WHERE tm.team_id = $1
 ORDER BY u.username

-- name: is_team_member
SELECT 1 FROM teammember WHERE team_id = $1 AND user_id = $2

-- name: users_by_prefix
-- Up to $2 enabled people (and, when $3 is not '', the robots of namespace $3) whose name starts
-- with $1, by name: username, e-mail, robot, member of organization $4 (-1: none).
SELECT u.username, u.email, u.robot,
       EXISTS (SELECT 1 FROM teammember tm JOIN team t ON t.id = tm.team_id
                WHERE tm.user_id = u.id AND t.organization_id = $4)
  FROM "user" u
 WHERE NOT u.organization AND u.enabled
   AND substr(u.username, 1, length($1)) = $1
   AND (NOT u.robot OR ($3 <> '' AND substr(u.username, 1, length($3) + 1) = $3 || '+'))
 ORDER BY u.username
 LIMIT $2

-- name: teams_by_prefix
-- The teams of organization $1 whose name starts with $2, by name.
SELECT t.name FROM team t
 WHERE t.organization_id = $1 AND substr(t.name, 1, length($2)) = $2
 ORDER BY t.name
