-- Default permissions (quay_core::prototypes): the `permissionprototype` rows an organization's
-- new repositories are granted from (sql/repositories.sql `prototypes` applies them).

-- name: organization
SELECT id FROM "user" WHERE id = $1 AND organization AND enabled

-- name: person_or_robot
-- User $1 if it may be a delegate or activating user: not an organization.
SELECT id FROM "user" WHERE id = $1 AND NOT organization

-- name: team_of
SELECT id FROM team WHERE id = $1 AND organization_id = $2

-- name: insert
-- $1 organization, $2 uuid, $3 activating user, $4 delegate user, $5 delegate team, $6 role name.
INSERT INTO permissionprototype (org_id, uuid, activating_user_id, delegate_user_id, delegate_team_id, role_id)
SELECT $1, $2, $3, $4, $5, ro.id FROM role ro WHERE ro.name = $6
RETURNING id

-- name: set_role
-- Prototype $2 of organization $1 gets role $3; returns its previous role.
UPDATE permissionprototype SET role_id = (SELECT ro.id FROM role ro WHERE ro.name = $3)
 WHERE org_id = $1 AND uuid = $2
RETURNING id

-- name: role_of
SELECT ro.name FROM permissionprototype p JOIN role ro ON ro.id = p.role_id WHERE p.org_id = $1 AND p.uuid = $2

-- name: delete
DELETE FROM permissionprototype WHERE org_id = $1 AND uuid = $2 RETURNING id
