-- The store's statements for users (server/src/store/users.rs), run as they are on both
-- backends after dialect rendering (docs/architecture.md).

-- name: insert_user
-- A person's row with Quay's client-side defaults (verified, enabled, no failed logins); $6 is
-- the time in Quay's format (UTC, microseconds); nothing when the name is taken.
INSERT INTO "user" (uuid, username, password_hash, email, verified, organization, robot,
                    invoice_email, invalid_login_attempts, last_invalid_login,
                    removed_tag_expiration_s, enabled, creation_date)
VALUES ($1, $2, $3, $4, true, false, false, false, 0, {timestamp:$6}, $5, true, {timestamp:$6})
ON CONFLICT (username) DO NOTHING
RETURNING id

-- name: user_credentials
SELECT id, username, password_hash, enabled, organization, robot FROM "user" WHERE username = $1

-- name: first_user
-- The earliest enabled person with a password (mirror mode's superuser when none is configured).
SELECT username FROM "user"
 WHERE NOT organization AND NOT robot AND enabled AND password_hash IS NOT NULL
 ORDER BY id
 LIMIT 1
