-- The store's statements for blobs (server/src/store/blobs.rs), run as they are on both
-- backends after dialect rendering (docs/architecture.md).

-- name: checksum_stored
-- Whether any storage row names the content object of checksum $1.
SELECT id FROM imagestorage WHERE content_checksum = $1 LIMIT 1

-- name: location_ensure
INSERT INTO imagestoragelocation (name) SELECT $1
 WHERE NOT EXISTS (SELECT 1 FROM imagestoragelocation WHERE name = $1)
