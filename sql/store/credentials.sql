-- The store's statements for credentials (server/src/store/credentials.rs), run as they are on both
-- backends after dialect rendering (docs/architecture.md).

-- name: robot_token
-- A robot's encrypted token and whether it and its owner are enabled.
SELECT r.id, r.uuid, r.enabled AND o.enabled, t.token
  FROM "user" r
  JOIN robotaccounttoken t ON t.robot_account_id = r.id
  JOIN "user" o ON o.username = $2
 WHERE r.username = $1 AND r.robot

-- name: app_token
-- An app-specific token by its public half: owner id, uuid, username, enabled, encrypted
-- secret, and whether it is unexpired.
SELECT u.id, a.uuid, u.username, u.enabled, a.token_secret,
       (a.expiration IS NULL OR a.expiration > {now})
  FROM appspecificauthtoken a JOIN "user" u ON u.id = a.user_id
 WHERE a.token_name = $1

-- name: app_token_by_uuid
-- The same, by the token's uuid (what a registry token's context names).
SELECT u.id, a.uuid, u.username, u.enabled, a.token_secret,
       (a.expiration IS NULL OR a.expiration > {now})
  FROM appspecificauthtoken a JOIN "user" u ON u.id = a.user_id
 WHERE a.uuid = $1

-- name: access_token
-- A repository delegate token (`$token`) by its public first 32 characters: its repository,
-- role name and field-encrypted code.
SELECT t.repository_id, r.name, t.token_code
  FROM accesstoken t JOIN role r ON r.id = t.role_id
 WHERE t.token_name = $1

-- name: user_uuid
SELECT uuid FROM "user" WHERE id = $1

-- name: servicekey_jwk
SELECT jwk FROM servicekey
 WHERE kid = $1 AND service = $2 AND approval_id IS NOT NULL
   AND (expiration_date IS NULL OR expiration_date > {now})

-- name: servicekey_approval
INSERT INTO servicekeyapproval (approver_id, approval_type, approved_date, notes)
VALUES (NULL, 'ServiceKeyApprovalType.AUTOMATIC', {now}, '')
RETURNING id

-- name: servicekey_insert
-- An instance key, live for $6 seconds (renewed by servicekey_renew while the instance runs).
INSERT INTO servicekey (name, kid, service, jwk, metadata, created_date, expiration_date,
                        rotation_duration, approval_id)
SELECT $1, $2, $3, $4, '{}', {now}, {now_plus:$6}, NULL, $5
 WHERE NOT EXISTS (SELECT 1 FROM servicekey WHERE kid = $2)

-- name: servicekey_renew
-- Pushes key $1's expiry to now + $2 seconds, as Quay's servicekeyworker does. A deleted key is
-- not recreated (deleting it is how an administrator revokes it).
UPDATE servicekey SET expiration_date = {now_plus:$2} WHERE kid = $1 AND service = $3 RETURNING id

-- name: servicekey_expire_legacy
-- Instance keys written before keys expired (automatic approval, no expiry): they get the
-- instance expiry, so they lapse and are collected like every other instance key.
UPDATE servicekey SET expiration_date = {now_plus:$2}
 WHERE service = $1 AND expiration_date IS NULL AND rotation_duration IS NULL AND metadata = '{}'
   AND approval_id IN (SELECT id FROM servicekeyapproval
                        WHERE approval_type = 'ServiceKeyApprovalType.AUTOMATIC')

-- name: servicekey_gc
-- Keys of service $1 that expired at least $2 seconds ago (Quay's EXPIRED_SERVICE_KEY_TTL_SEC):
-- servicekey_jwk no longer accepts them, so no token they signed validates anywhere.
DELETE FROM servicekey WHERE service = $1 AND expiration_date <= {now_plus:$2} RETURNING approval_id

-- name: servicekey_approval_gc
-- The automatic approval of a collected key, once no key refers to it.
DELETE FROM servicekeyapproval
 WHERE id = $1 AND approval_type = 'ServiceKeyApprovalType.AUTOMATIC'
   AND NOT EXISTS (SELECT 1 FROM servicekey WHERE approval_id = $1)

-- name: oauth_token_by_name
-- An OAuth access token by its public first 20 characters: uuid, user id, username, enabled,
-- bcrypt of the rest, scope string, whether it is unexpired, its row id, and its application's
-- client id and name (action logs name them).
SELECT o.uuid, u.id, u.username, u.enabled, o.token_code, o.scope, (o.expires_at > {now}),
       o.id, a.client_id, a.name
  FROM oauthaccesstoken o JOIN "user" u ON u.id = o.authorized_user_id
  LEFT JOIN oauthapplication a ON a.id = o.application_id
 WHERE o.token_name = $1

-- name: oauth_token_by_uuid
-- The same, by the uuid a registry token names.
SELECT o.uuid, u.id, u.username, u.enabled, o.token_code, o.scope, (o.expires_at > {now}),
       o.id, a.client_id, a.name
  FROM oauthaccesstoken o JOIN "user" u ON u.id = o.authorized_user_id
  LEFT JOIN oauthapplication a ON a.id = o.application_id
 WHERE o.uuid = $1
