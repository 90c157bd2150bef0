-- The store's statements for uploads (server/src/store/uploads.rs), run as they are on both
-- backends after dialect rendering (docs/architecture.md).

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

-- name: upload_exists
SELECT id FROM blobupload WHERE uuid = $1

-- name: upload_delete
DELETE FROM blobupload WHERE repository_id = $1 AND uuid = $2 RETURNING id
