-- Robot accounts (quay_core::robots): creating one with its metadata, token and quayrobot login,
-- replacing its token, deleting it with every row that names it.

-- name: owner
-- The owner $1 if it may have robots: an enabled person or organization. Its username.
SELECT username FROM "user" WHERE id = $1 AND NOT robot AND enabled

-- name: name_taken
SELECT id FROM "user" WHERE username = $1

-- name: insert_robot
-- $1 uuid, $2 username (owner+short), $3 e-mail (a uuid, as Quay gives robots).
INSERT INTO "user" (uuid, username, password_hash, email, verified, organization, robot,
                    invoice_email, invalid_login_attempts, last_invalid_login,
                    removed_tag_expiration_s, enabled, creation_date)
VALUES ($1, $2, NULL, $3, true, false, true, false, 0, {now}, 1209600, true, {now})
ON CONFLICT (username) DO NOTHING
RETURNING id

-- name: insert_metadata
INSERT INTO robotaccountmetadata (robot_account_id, description, unstructured_json) VALUES ($1, $2, $3)

-- name: insert_token
INSERT INTO robotaccounttoken (robot_account_id, token, fully_migrated) VALUES ($1, $2, true)

-- name: insert_login
INSERT INTO federatedlogin (user_id, service_id, service_ident, metadata_json)
SELECT $1, s.id, 'robot:' || $1, '{}' FROM loginservice s WHERE s.name = 'quayrobot'

-- name: robot
-- Robot $1: its owner's id (from the name's prefix) and its username.
SELECT o.id, r.username
  FROM "user" r JOIN "user" o
    ON substr(r.username, 1, length(o.username) + 1) = o.username || '+'
   AND NOT o.robot
 WHERE r.id = $1 AND r.robot

-- name: set_token
UPDATE robotaccounttoken SET token = $2, fully_migrated = true WHERE robot_account_id = $1 RETURNING id

-- name: new_email
UPDATE "user" SET email = $2 WHERE id = $1

-- Every row that names robot $1, removed before its user row (delete_robot), in this order.
-- name: unref_permissions
DELETE FROM repositorypermission WHERE user_id = $1

-- name: unref_teams
DELETE FROM teammember WHERE user_id = $1

-- name: unref_prototypes
DELETE FROM permissionprototype WHERE delegate_user_id = $1 OR activating_user_id = $1

-- name: unref_stars
DELETE FROM star WHERE user_id = $1

-- name: unref_notifications
DELETE FROM notification WHERE target_id = $1

-- name: unref_token
DELETE FROM robotaccounttoken WHERE robot_account_id = $1

-- name: unref_metadata
DELETE FROM robotaccountmetadata WHERE robot_account_id = $1

-- name: unref_login
DELETE FROM federatedlogin WHERE user_id = $1

-- name: delete_robot
DELETE FROM "user" WHERE id = $1 AND robot
