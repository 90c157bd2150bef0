-- The store's statements for app-specific tokens (server/src/store/apptokens.rs).

-- name: of_user
-- The tokens of user $1 in creation order: uuid, title, created, expiration, last accessed,
-- public name, field-encrypted secret.
SELECT uuid, title, {ts:created}, {ts:expiration}, {ts:last_accessed}, token_name, token_secret
  FROM appspecificauthtoken
 WHERE user_id = $1
 ORDER BY id
