-- Teams (quay_core::teams): creating a team or changing its role and description, adding
-- members; quay.team_set and quay.team_member_add.

-- name: team_by_name
-- Team $2 of organization $1: id, role name, description.
SELECT t.id, tr.name, t.description
  FROM team t JOIN teamrole tr ON tr.id = t.role_id
 WHERE t.organization_id = $1 AND t.name = $2

-- name: organization
-- Organization $1 if it is one and enabled.
SELECT id FROM "user" WHERE id = $1 AND organization AND enabled

-- name: insert_team
-- $1 organization, $2 name, $3 team role name, $4 description.
INSERT INTO team (name, organization_id, role_id, description)
SELECT $2, $1, tr.id, $4 FROM teamrole tr WHERE tr.name = $3
ON CONFLICT DO NOTHING
RETURNING id

-- name: update_team
UPDATE team SET role_id = (SELECT tr.id FROM teamrole tr WHERE tr.name = $2), description = $3
 WHERE id = $1

-- name: team_organization
-- The organization of team $1, the team's name and its team role.
SELECT t.organization_id, t.name, tr.name FROM team t JOIN teamrole tr ON tr.id = t.role_id WHERE t.id = $1

-- name: member_candidate
-- User $1 if it may join a team of organization $2: an enabled person, or a robot of that
-- organization. Its username.
SELECT u.username FROM "user" u JOIN "user" o ON o.id = $2
 WHERE u.id = $1 AND NOT u.organization AND u.enabled
   AND (NOT u.robot OR substr(u.username, 1, length(o.username) + 1) = o.username || '+')

-- name: insert_member
INSERT INTO teammember (user_id, team_id) VALUES ($1, $2)
ON CONFLICT DO NOTHING
RETURNING id

-- name: remove_member
DELETE FROM teammember WHERE team_id = $1 AND user_id = $2 RETURNING id

-- name: member_name
SELECT username FROM "user" WHERE id = $1

-- Deleting a team: every row naming it, then the team (delete_team).
-- name: unref_team_members
DELETE FROM teammember WHERE team_id = $1

-- name: unref_team_permissions
DELETE FROM repositorypermission WHERE team_id = $1

-- name: unref_team_prototypes
DELETE FROM permissionprototype WHERE delegate_team_id = $1

-- name: unref_team_invites
DELETE FROM teammemberinvite WHERE team_id = $1

-- name: delete_team
DELETE FROM team WHERE id = $1 RETURNING id

-- name: other_admins
-- Enabled people in admin teams of organization $1 other than in team $2 (-1: none) and other
-- than the membership of user $4 in team $3: who would still administer the organization.
SELECT count(*) FROM teammember tm
  JOIN team t ON t.id = tm.team_id
  JOIN teamrole tr ON tr.id = t.role_id AND tr.name = 'admin'
  JOIN "user" u ON u.id = tm.user_id AND u.enabled = true AND u.robot = false
 WHERE t.organization_id = $1 AND t.id <> $2
   AND NOT (tm.team_id = $3 AND tm.user_id = $4)
