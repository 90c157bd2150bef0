-- Tags and manifests (quay_core::tags): the statements of quay.manifest_put, quay.tag_set,
-- quay.tag_delete and quay.tag_restore. Rules: docs/sql-api.md and quay-data-model.md §4.

-- name: manifest_by_digest
SELECT id FROM manifest WHERE repository_id = $1 AND digest = $2

-- name: manifest_in_repository
-- $1 manifest id, $2 repository id -> digest
SELECT digest FROM manifest WHERE id = $1 AND repository_id = $2

-- name: media_type_id
SELECT id FROM mediatype WHERE name = $1

-- name: tag_kind_id
SELECT id FROM tagkind WHERE name = 'tag'

-- name: insert_manifest
-- A concurrent creator of the same (repository, digest) wins quietly; the caller re-reads.
INSERT INTO manifest (repository_id, digest, media_type_id, manifest_bytes, config_media_type,
                      layers_compressed_size, subject, subject_backfilled, artifact_type,
                      artifact_type_backfilled)
VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8, true)
ON CONFLICT (repository_id, digest) DO NOTHING
RETURNING id

-- name: usable_blobs
-- Each digest of the JSON array $2 with the storage row repository $1 may use (NULL when none):
-- linked to it by an upload or one of its manifests, or the shared empty layer $3, and placed.
-- One statement for any number of layers.
SELECT j.value,
       (SELECT s.id FROM imagestorage s
         WHERE s.content_checksum = j.value
           AND EXISTS (SELECT 1 FROM imagestorageplacement p WHERE p.storage_id = s.id)
           AND (j.value = $3
                -- `+`: search uploadedblob by blob (SQLite would otherwise scan the repository's links).
                OR EXISTS (SELECT 1 FROM uploadedblob u WHERE u.blob_id = s.id AND +u.repository_id = $1)
                OR EXISTS (SELECT 1 FROM manifestblob mb WHERE mb.blob_id = s.id AND mb.repository_id = $1))
         ORDER BY s.id
         LIMIT 1)
  FROM {json_values:$2}

-- name: insert_manifest_blobs
-- $1 repository, $2 manifest, $3 JSON array of storage ids.
INSERT INTO manifestblob (repository_id, manifest_id, blob_id)
SELECT $1, $2, CAST(j.value AS INTEGER) FROM {json_values:$3}

-- name: insert_manifest_child
INSERT INTO manifestchild (repository_id, manifest_id, child_manifest_id) VALUES ($1, $2, $3)

-- name: insert_security_status
INSERT INTO manifestsecuritystatus (manifest_id, repository_id, index_status, error_json, last_indexed,
                                    indexer_hash, indexer_version, metadata_json)
VALUES ($1, $2, 0, '{}', {now}, '', 4, '{}')

-- name: tag_keeping_alive
-- Some tag (any name, hidden or not) keeps the manifest until $2 (epoch ms) or forever.
SELECT id FROM tag
 WHERE manifest_id = $1 AND (lifetime_end_ms IS NULL OR lifetime_end_ms >= $2)
 LIMIT 1

-- name: insert_tag
-- $1 name, $2 repository, $3 manifest, $4 start ms, $5 end ms or NULL, $6 hidden, $7 reversion,
-- $8 tag kind
INSERT INTO tag (name, repository_id, manifest_id, lifetime_start_ms, lifetime_end_ms, hidden,
                 reversion, tag_kind_id, immutable)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false)
RETURNING id

-- name: name_clock
-- The latest start and the latest past end of a name's generations: a new event on the name must
-- come strictly after both, so history never overlaps and end times stay distinct.
SELECT MAX(lifetime_start_ms),
       MAX(CASE WHEN lifetime_end_ms <= $3 THEN lifetime_end_ms END)
  FROM tag
 WHERE repository_id = $1 AND name = $2

-- name: alive_tag
-- The alive, visible generation of a name at $3 (epoch ms), locked against concurrent writers.
SELECT id, manifest_id, immutable FROM tag
 WHERE repository_id = $1 AND name = $2 AND hidden = false
   AND (lifetime_end_ms IS NULL OR lifetime_end_ms > $3)
 {for_update}

-- name: end_tag
UPDATE tag SET lifetime_end_ms = $2 WHERE id = $1

-- name: delete_tag_notifications
DELETE FROM tagnotificationsuccess WHERE tag_id = $1

-- name: delete_tag_pull_statistics
DELETE FROM tagpullstatistics WHERE repository_id = $1 AND tag_name = $2

-- name: other_tag_on_manifest
-- Another alive, visible tag of the repository (not a Cosign one, not $3) still on manifest $2.
SELECT id FROM tag
 WHERE repository_id = $1 AND manifest_id = $2 AND id <> $3 AND hidden = false
   AND (lifetime_end_ms IS NULL OR lifetime_end_ms > $4)
   AND NOT (substr(name, 1, 7) = 'sha256-' AND length(name) IN (75, 76))
 LIMIT 1

-- name: namespace_window
-- The time-machine window (seconds) of the repository's namespace.
SELECT u.removed_tag_expiration_s FROM repository r JOIN "user" u ON u.id = r.namespace_user_id
 WHERE r.id = $1

-- name: restorable_generation
-- A visible generation of (name, manifest) that is alive or ended inside the window.
SELECT id FROM tag
 WHERE repository_id = $1 AND name = $2 AND manifest_id = $3 AND hidden = false
   AND (lifetime_end_ms IS NULL OR lifetime_end_ms > $4)
 LIMIT 1

-- name: alive_tags_of_manifest
-- Every alive generation on manifest $2 (hidden and temporary ones too) at $3 (epoch ms), locked.
SELECT id, name, hidden, immutable FROM tag
 WHERE repository_id = $1 AND manifest_id = $2
   AND (lifetime_end_ms IS NULL OR lifetime_end_ms > $3)
 ORDER BY id
 {for_update}

-- name: read_by_digest
-- What permissions.sql repository_access adds for a manifest pull by digest $4: the manifest if
-- something keeps it alive (as Quay's manifest lookup): an alive tag of any kind (hidden and
-- temporary ones too), or an alive tag on an index that lists it. A manifest only dead tags
-- point at is gone for readers, though its row stays until GC.
LEFT JOIN manifest m ON m.repository_id = r.id AND m.digest = $4
      AND (EXISTS (SELECT 1 FROM tag t
                    WHERE t.manifest_id = m.id AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > {now_ms}))
           OR EXISTS (SELECT 1 FROM manifestchild mc JOIN tag t ON t.manifest_id = mc.manifest_id
                       WHERE mc.child_manifest_id = m.id
                         AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > {now_ms})))
LEFT JOIN mediatype mt ON mt.id = m.media_type_id

-- name: read_by_tag
-- What permissions.sql repository_access adds for a manifest pull by tag $4: the manifest of
-- the alive, visible tag.
LEFT JOIN manifest m ON m.id = (
      SELECT t.manifest_id FROM tag t
       WHERE t.repository_id = r.id AND t.name = $4 AND NOT t.hidden
         AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > {now_ms})
       ORDER BY t.lifetime_start_ms DESC
       LIMIT 1)
LEFT JOIN mediatype mt ON mt.id = m.media_type_id

-- name: tag_end_of
-- The end (epoch ms, NULL: none) of tag $1 and its manifest's digest.
SELECT t.lifetime_end_ms, m.digest FROM tag t JOIN manifest m ON m.id = t.manifest_id WHERE t.id = $1
