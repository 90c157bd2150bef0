-- The store's statements for organizations (server/src/store/organizations.rs), run as they
-- are on both backends after dialect rendering (docs/architecture.md).

-- name: teams
-- The teams of organization $1 in id order, with what the organization view shows: id, name,
-- description, team role, member count, repositories it has a permission on, and whether
-- caller $2 is a member.
SELECT t.id, t.name, t.description, tr.name,
       (SELECT count(*) FROM teammember tm WHERE tm.team_id = t.id),
       (SELECT count(*) FROM repositorypermission p WHERE p.team_id = t.id),
       EXISTS (SELECT 1 FROM teammember tm WHERE tm.team_id = t.id AND tm.user_id = $2)
  FROM team t JOIN teamrole tr ON tr.id = t.role_id
 WHERE t.organization_id = $1
 ORDER BY t.id

-- name: member_teams
-- Every (person, team) membership in organization $1 (robots excluded): username, e-mail, team.
SELECT u.username, u.email, t.name
  FROM teammember tm
  JOIN team t ON t.id = tm.team_id
  JOIN "user" u ON u.id = tm.user_id
 WHERE t.organization_id = $1 AND NOT u.robot
 ORDER BY u.username, t.id

-- name: member_repositories
-- Every (person, repository) direct grant in organization $1 (robots excluded).
SELECT u.username, r.name
  FROM repositorypermission p
  JOIN repository r ON r.id = p.repository_id
  JOIN "user" u ON u.id = p.user_id
 WHERE r.namespace_user_id = $1 AND NOT u.robot AND r.state <> 3
 ORDER BY u.username, r.name

-- name: collaborators
-- People with a direct grant on a repository of organization $1 who are in none of its teams:
-- username, e-mail, repository.
SELECT u.username, u.email, r.name
  FROM repositorypermission p
  JOIN repository r ON r.id = p.repository_id
  JOIN "user" u ON u.id = p.user_id
 WHERE r.namespace_user_id = $1 AND NOT u.robot AND r.state <> 3
   AND NOT EXISTS (SELECT 1 FROM teammember tm JOIN team t ON t.id = tm.team_id
                    WHERE t.organization_id = $1 AND tm.user_id = u.id)
 ORDER BY u.username, r.name

-- name: all_organizations
-- Every enabled organization by name (superusers' list): name, e-mail.
SELECT username, email FROM "user" WHERE organization AND enabled ORDER BY username
