-- Reads and upload bookkeeping of the registry API (server/src/store/registry.rs). Rules that
-- change tags, manifests, blobs or repositories are the core's functions, not here.

-- name: namespace_by_name
SELECT id, enabled, organization FROM "user" WHERE username = $1 AND NOT robot

-- name: repository_names_after
-- Full names of every live image repository of an enabled namespace after $1 (byte order), at
-- most $2: the catalog of configured superusers.
SELECT r.id, ns.username || '/' || r.name AS full_name
  FROM repository r
  JOIN repositorykind k ON k.id = r.kind_id AND k.name = 'image'
  JOIN "user" ns ON ns.id = r.namespace_user_id
 WHERE r.state <> 3 AND ns.enabled = true
   AND (ns.username || '/' || r.name){collate_c} > $1{collate_c}
 ORDER BY (ns.username || '/' || r.name){collate_c}
 LIMIT $2

-- name: repository_names
-- Full names of live repositories with ids in [$1, $2].
SELECT r.id, ns.username, r.name
  FROM repository r JOIN "user" ns ON ns.id = r.namespace_user_id
 WHERE r.id >= $1 AND r.id <= $2 AND r.state <> 3

-- name: tag_names
-- Alive visible tag names after $2 (exclusive) in name order, at most $3.
SELECT DISTINCT t.name
  FROM tag t
 WHERE t.repository_id = $1 AND NOT t.hidden AND t.name > $2
   AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > {now_ms})
 ORDER BY t.name
 LIMIT $3

-- name: referrers
-- Manifests of the repository whose subject is $2 and that something keeps alive.
SELECT m.digest, mt.name, m.manifest_bytes, m.artifact_type, m.config_media_type
  FROM manifest m JOIN mediatype mt ON mt.id = m.media_type_id
 WHERE m.repository_id = $1 AND m.subject = $2
   AND EXISTS (SELECT 1 FROM tag t WHERE t.manifest_id = m.id
                 AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > {now_ms}))
 ORDER BY m.id

-- name: upload_insert
INSERT INTO blobupload (repository_id, uuid, byte_count, sha_state, location_id, storage_metadata,
                        chunk_count, uncompressed_byte_count, created)
SELECT $1, $2, 0, $3, l.id, '{}', 0, NULL, {now}
  FROM imagestoragelocation l WHERE l.name = $4
RETURNING id

-- name: uploads_stale
-- At most $1 uploads created before now + $2 seconds ($2 negative: the cleanup worker's age
-- limit), oldest first.
SELECT id, uuid FROM blobupload WHERE created <= {now_plus:$2} ORDER BY created, id LIMIT $1

-- name: upload_delete_by_id
DELETE FROM blobupload WHERE id = $1 RETURNING id

-- name: upload_get
SELECT id, byte_count, sha_state, chunk_count, storage_metadata
  FROM blobupload WHERE repository_id = $1 AND uuid = $2

-- name: upload_advance
-- Records one more piece (its bytes, the hash state after it, the piece list) only if nobody
-- recorded another since the caller read the upload at ($2 bytes, $5 pieces): compare-and-swap.
UPDATE blobupload SET byte_count = $3, sha_state = $4, chunk_count = chunk_count + 1, storage_metadata = $6
 WHERE id = $1 AND byte_count = $2 AND chunk_count = $5
RETURNING id

-- name: upload_claim
-- Ends an upload as the caller last saw it ($2 bytes, $3 pieces): exactly one finisher wins.
DELETE FROM blobupload WHERE id = $1 AND byte_count = $2 AND chunk_count = $3 RETURNING id

-- name: checksum_stored
-- Whether any storage row names the content object of checksum $1.
SELECT id FROM imagestorage WHERE content_checksum = $1 LIMIT 1

-- name: upload_exists
SELECT id FROM blobupload WHERE uuid = $1

-- name: upload_delete
DELETE FROM blobupload WHERE repository_id = $1 AND uuid = $2 RETURNING id

-- name: location_ensure
INSERT INTO imagestoragelocation (name) SELECT $1
 WHERE NOT EXISTS (SELECT 1 FROM imagestoragelocation WHERE name = $1)

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

-- name: access_token
-- A repository delegate token (`$token`) by its public first 32 characters: its repository,
-- role name and field-encrypted code.
SELECT t.repository_id, r.name, t.token_code
  FROM accesstoken t JOIN role r ON r.id = t.role_id
 WHERE t.token_name = $1

-- name: oauth_token_by_name
-- An OAuth access token by its public first 20 characters: uuid, user id, username, enabled,
-- bcrypt of the rest, scope string, and whether it is unexpired.
SELECT o.uuid, u.id, u.username, u.enabled, o.token_code, o.scope, (o.expires_at > {now})
  FROM oauthaccesstoken o JOIN "user" u ON u.id = o.authorized_user_id
 WHERE o.token_name = $1

-- name: oauth_token_by_uuid
-- The same, by the uuid a registry token names.
SELECT o.uuid, u.id, u.username, u.enabled, o.token_code, o.scope, (o.expires_at > {now})
  FROM oauthaccesstoken o JOIN "user" u ON u.id = o.authorized_user_id
 WHERE o.uuid = $1

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

-- name: repositories_with_blob
-- Live repositories whose manifests use, or whose unexpired upload links hold, blob $1.
SELECT DISTINCT x.repository_id FROM (
    SELECT mb.repository_id FROM manifestblob mb JOIN imagestorage s ON s.id = mb.blob_id
     WHERE s.content_checksum = $1
    UNION
    SELECT u.repository_id FROM uploadedblob u JOIN imagestorage s ON s.id = u.blob_id
     WHERE s.content_checksum = $1 AND u.expires_at > {now}
) x JOIN repository r ON r.id = x.repository_id AND r.state <> 3
ORDER BY 1
LIMIT 100
