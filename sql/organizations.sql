-- Organization creation (quay_core::organizations): Quay's `create_organization` as
-- CREATE_NAMESPACE_ON_PUSH uses it (quay-http-surface.md §1.10).

-- name: namespace_by_name
SELECT id, organization FROM "user" WHERE username = $1

-- name: creator
-- The creating user and its e-mail: enabled, a person (not an organization or robot).
SELECT id, email FROM "user" WHERE id = $1 AND enabled AND NOT organization AND NOT robot

-- name: insert_organization
-- $1 name, $2 email, $3 uuid, $4 removed_tag_expiration_s.
INSERT INTO "user" (uuid, username, email, verified, organization, robot, invoice_email,
                    invalid_login_attempts, last_invalid_login, removed_tag_expiration_s, enabled,
                    creation_date)
VALUES ($3, $1, $2, false, true, false, false, 0, {now}, $4, true, {now})
ON CONFLICT DO NOTHING
RETURNING id

-- name: insert_owners_team
INSERT INTO team (name, organization_id, role_id, description)
SELECT 'owners', $1, tr.id, '' FROM teamrole tr WHERE tr.name = 'admin'
RETURNING id

-- name: insert_member
INSERT INTO teammember (user_id, team_id) VALUES ($1, $2)

-- Changing an organization (PUT /api/v1/organization/<org>, quay_core::organizations::update).
-- name: organization_row
-- $1 organization id: its name, e-mail and invoice address (an enabled organization only).
SELECT username, email, invoice_email_address FROM "user"
 WHERE id = $1 AND organization AND enabled

-- name: email_taken
SELECT 1 FROM "user" WHERE email = $1 AND id <> $2

-- name: set_email
UPDATE "user" SET email = $2 WHERE id = $1

-- name: set_invoice_email
UPDATE "user" SET invoice_email = $2 WHERE id = $1

-- name: set_invoice_email_address
UPDATE "user" SET invoice_email_address = $2 WHERE id = $1

-- name: set_tag_expiration
UPDATE "user" SET removed_tag_expiration_s = $2 WHERE id = $1

-- Removing a member from an organization (quay_core::organizations::remove_member).
-- name: is_admin_of
-- Is user $2 in an admin team of organization $1?
SELECT 1 FROM teammember tm
  JOIN team t ON t.id = tm.team_id
  JOIN teamrole tr ON tr.id = t.role_id AND tr.name = 'admin'
 WHERE t.organization_id = $1 AND tm.user_id = $2
 LIMIT 1

-- name: admins_besides
-- Enabled people other than user $2 in admin teams of organization $1.
SELECT count(DISTINCT tm.user_id) FROM teammember tm
  JOIN team t ON t.id = tm.team_id
  JOIN teamrole tr ON tr.id = t.role_id AND tr.name = 'admin'
  JOIN "user" u ON u.id = tm.user_id AND u.enabled AND NOT u.robot
 WHERE t.organization_id = $1 AND tm.user_id <> $2

-- name: drop_member_permissions
DELETE FROM repositorypermission
 WHERE user_id = $2 AND repository_id IN (SELECT id FROM repository WHERE namespace_user_id = $1)

-- name: drop_member_teams
DELETE FROM teammember
 WHERE user_id = $2 AND team_id IN (SELECT id FROM team WHERE organization_id = $1)

-- Renaming an organization (superusers; quay_core::organizations::rename).
-- name: name_reserved
-- $1 a name still held by a namespace being deleted (its marker) or by robots of one
-- (`name+bot` rows live until the purge).
SELECT 1 FROM deletednamespace WHERE original_username = $1
UNION ALL
SELECT 1 FROM "user" WHERE robot AND substr(username, 1, length($1) + 1) = $1 || '+'

-- name: rename_namespace
UPDATE "user" SET username = $2 WHERE id = $1 AND organization AND enabled RETURNING id

-- name: rename_robots
-- $1 old name, $2 new name: `old+bot` becomes `new+bot` (a prefix compare: `_` is no wildcard).
UPDATE "user" SET username = $2 || substr(username, length($1) + 1)
 WHERE robot AND substr(username, 1, length($1) + 1) = $1 || '+'
