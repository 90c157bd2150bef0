-- App-specific tokens (quay_core::apptokens): `appspecificauthtoken` rows, used with `$app`.

-- name: person
SELECT id FROM "user" WHERE id = $1 AND NOT organization AND NOT robot

-- name: insert
-- $1 user, $2 uuid, $3 title, $4 public token name (60 chars), $5 field-encrypted secret.
INSERT INTO appspecificauthtoken (user_id, uuid, title, created, expiration, last_accessed, token_name, token_secret)
VALUES ($1, $2, $3, {now}, NULL, NULL, $4, $5)
RETURNING id

-- name: delete
DELETE FROM appspecificauthtoken WHERE user_id = $1 AND uuid = $2 RETURNING id
