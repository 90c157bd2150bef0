-- Blobs (quay_core::blobs): quay.blob_commit and quay.blob_lookup (quay-data-model.md §4.7).

-- name: location_id
SELECT id FROM imagestoragelocation WHERE name = $1

-- name: storage_by_checksum
SELECT id FROM imagestorage WHERE content_checksum = $1 AND cas_path = true ORDER BY id LIMIT 1

-- name: insert_storage
INSERT INTO imagestorage (uuid, image_size, uncompressed_size, uploading, cas_path, content_checksum)
VALUES ($1, $2, NULL, false, true, $3)
RETURNING id

-- name: fill_size
UPDATE imagestorage SET image_size = $2 WHERE id = $1 AND image_size IS NULL

-- name: placement
SELECT id FROM imagestorageplacement WHERE storage_id = $1 AND location_id = $2

-- name: insert_placement
INSERT INTO imagestorageplacement (storage_id, location_id) VALUES ($1, $2)

-- name: insert_link
-- $1 repository, $2 storage, $3 seconds the link protects the blob
INSERT INTO uploadedblob (repository_id, blob_id, uploaded_at, expires_at)
VALUES ($1, $2, {now}, {now_plus:$3})

-- name: blob_in_repository
-- A blob is visible in repository <repository> through an upload link (expired or not, as
-- Quay) or one of the repository's manifests, and must have a placement. <repository> and
-- <digest> are the parameters of the statement that embeds this one (see read_blob).
SELECT s.id FROM imagestorage s
 WHERE s.content_checksum = {digest}
   AND EXISTS (SELECT 1 FROM imagestorageplacement p WHERE p.storage_id = s.id)
   -- `+`: search uploadedblob by blob (SQLite would otherwise scan the repository's links).
   AND (EXISTS (SELECT 1 FROM uploadedblob u WHERE u.blob_id = s.id AND +u.repository_id = {repository})
        OR EXISTS (SELECT 1 FROM manifestblob mb WHERE mb.blob_id = s.id AND mb.repository_id = {repository}))
 ORDER BY s.id
 LIMIT 1

-- name: shared_blob
-- The shared empty layer <digest>: visible in every repository once stored.
SELECT s.id FROM imagestorage s
 WHERE s.content_checksum = {digest}
   AND EXISTS (SELECT 1 FROM imagestorageplacement p WHERE p.storage_id = s.id)
 ORDER BY s.id
 LIMIT 1

-- name: blob_by_id
-- A visible blob (<visible>: blob_in_repository or shared_blob, for $1 = repository, $2 = digest).
SELECT b.id, b.image_size FROM imagestorage b WHERE b.id = ({visible})

-- name: read_blob
-- What permissions.sql repository_access adds for a blob pull of $4 (<visible>:
-- blob_in_repository or shared_blob, for repository r).
LEFT JOIN imagestorage b ON b.id = ({visible})

-- name: upload_end
-- Ends upload session $1 of repository $2 as the finisher last saw it ($3 bytes in $4 pieces):
-- exactly one finisher wins, and a request that advanced it meanwhile makes this one lose.
DELETE FROM blobupload WHERE id = $1 AND repository_id = $2 AND byte_count = $3 AND chunk_count = $4
RETURNING id
