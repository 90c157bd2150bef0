-- Accounts (quay_core::users): creating people, setting passwords, the first user of an empty
-- database with its OAuth application and token (`quay.user_initialize`).

-- name: name_taken
SELECT id FROM "user" WHERE username = $1

-- name: email_taken
-- Quay keeps people's e-mail addresses unique (index user_email_unique_non_org).
SELECT id FROM "user" WHERE email = $1 AND NOT organization

-- name: insert_person
-- $1 uuid, $2 username, $3 bcrypt hash or NULL, $4 email, $5 removed_tag_expiration_s,
-- $6 verified; Quay's client-side defaults for the rest. Nothing when the name is taken.
INSERT INTO "user" (uuid, username, password_hash, email, verified, organization, robot,
                    invoice_email, invalid_login_attempts, last_invalid_login,
                    removed_tag_expiration_s, enabled, creation_date)
VALUES ($1, $2, $3, $4, $6, false, false, false, 0, {now}, $5, true, {now})
ON CONFLICT (username) DO NOTHING
RETURNING id

-- name: set_password
-- A new password and a new uuid: sessions and tokens that name the old uuid stop working (Quay's
-- invalidate_all_sessions); the login back-off starts over (Quay's change_password).
UPDATE "user" SET password_hash = $2, uuid = $3, invalid_login_attempts = 0
 WHERE id = $1 AND NOT organization AND NOT robot
RETURNING id

-- name: any_user
SELECT id FROM "user" LIMIT 1

-- name: insert_application
-- The `automation` OAuth application of a user (Quay's /api/v1/user/initialize): $1 client id
-- (the username), $2 owner id, $3 description.
INSERT INTO oauthapplication (client_id, redirect_uri, application_uri, organization_id, name,
                              description, gravatar_email, secure_client_secret, fully_migrated)
VALUES ($1, '', '', $2, 'automation', $3, NULL, NULL, true)
RETURNING id

-- name: insert_oauth_token
-- $1 uuid, $2 application id, $3 user id, $4 scope, $5 lifetime in seconds, $6 bcrypt of the
-- token's last 20 characters, $7 its first 20 (looked up as is).
INSERT INTO oauthaccesstoken (uuid, application_id, authorized_user_id, scope, token_type,
                              expires_at, data, token_code, token_name, created)
VALUES ($1, $2, $3, $4, 'Bearer', {now_plus:$5}, '', $6, $7, {now})
RETURNING id

-- Changing one's own account (PUT /api/v1/user/, quay_core::users::update).
-- name: person_row
-- $1 person id: name, e-mail, invoice address, given name, family name, company, location.
SELECT username, email, invoice_email_address, given_name, family_name, company, location FROM "user"
 WHERE id = $1 AND NOT organization AND NOT robot AND enabled

-- name: other_person_email
SELECT id FROM "user" WHERE email = $1 AND NOT organization AND id <> $2

-- name: set_email_verified
-- Without mailing there is no confirmation step: the new address counts as verified (Quay).
UPDATE "user" SET email = $2, verified = true WHERE id = $1

-- name: set_metadata
UPDATE "user" SET given_name = $2, family_name = $3, company = $4, location = $5 WHERE id = $1
