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
-- ..., wrong passwords in a row, ms since the last one (the login back-off).
SELECT id, username, password_hash, enabled, organization, robot, invalid_login_attempts,
       {age_ms:last_invalid_login}
  FROM "user" WHERE username = $1

-- name: login_failed
-- A wrong password while none was counted before it (counted after the check).
UPDATE "user" SET invalid_login_attempts = invalid_login_attempts + 1, last_invalid_login = {now}
 WHERE id = $1

-- name: login_claim
-- A password attempt counted before the password is checked, if nobody else counted one since
-- the caller read $2 (compare-and-set): one guess per back-off step.
UPDATE "user" SET invalid_login_attempts = invalid_login_attempts + 1, last_invalid_login = {now}
 WHERE id = $1 AND invalid_login_attempts = $2
RETURNING id

-- name: login_reset
UPDATE "user" SET invalid_login_attempts = 0 WHERE id = $1 AND invalid_login_attempts <> 0

-- name: first_user
-- The earliest enabled person with a password (mirror mode's superuser when none is configured).
SELECT username FROM "user"
 WHERE NOT organization AND NOT robot AND enabled AND password_hash IS NOT NULL
 ORDER BY id
 LIMIT 1

-- name: account_by_name
-- An account as the API shows it: id, uuid, username, email, enabled, verified, organization,
-- robot, whether a password is set, company, family_name, given_name, location, invoice_email,
-- invoice_email_address, removed_tag_expiration_s.
SELECT id, uuid, username, email, enabled, verified, organization, robot,
       password_hash IS NOT NULL, company, family_name, given_name, location, invoice_email,
       invoice_email_address, removed_tag_expiration_s
  FROM "user" WHERE username = $1

-- name: account_by_uuid
SELECT id, uuid, username, email, enabled, verified, organization, robot,
       password_hash IS NOT NULL, company, family_name, given_name, location, invoice_email,
       invoice_email_address, removed_tag_expiration_s
  FROM "user" WHERE uuid = $1

-- name: people_page
-- People (not organizations or robots) after id $1, in id order, at most $2 rows.
SELECT id, uuid, username, email, enabled, verified, organization, robot,
       password_hash IS NOT NULL, company, family_name, given_name, location, invoice_email,
       invoice_email_address, removed_tag_expiration_s
  FROM "user" WHERE NOT organization AND NOT robot AND id > $1
 ORDER BY id
 LIMIT $2

-- name: user_organizations
-- The enabled organizations a user is a member of (through any team): name, e-mail, and the
-- best team role there (2 admin, 1 creator, 0 member).
SELECT o.username, o.email,
       max(CASE tr.name WHEN 'admin' THEN 2 WHEN 'creator' THEN 1 ELSE 0 END)
  FROM teammember tm
  JOIN team t ON t.id = tm.team_id
  JOIN teamrole tr ON tr.id = t.role_id
  JOIN "user" o ON o.id = t.organization_id
 WHERE tm.user_id = $1 AND o.enabled
 GROUP BY o.id, o.username, o.email
 ORDER BY o.username
