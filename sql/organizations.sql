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
