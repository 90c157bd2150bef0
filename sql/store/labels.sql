-- The store's statements for manifests and labels as the API shows them (server/src/store/labels.rs).

-- name: api_manifest
-- Manifest $2 of repository $1: id, media type, bytes, config media type, layers size.
SELECT m.id, mt.name, m.manifest_bytes, m.config_media_type, m.layers_compressed_size
  FROM manifest m JOIN mediatype mt ON mt.id = m.media_type_id
 WHERE m.repository_id = $1 AND m.digest = $2

-- name: labels_of
-- The labels of manifest $1 in creation order: uuid, key, value, media type, source.
SELECT l.uuid, l."key", l.value, mt.name, st.name
  FROM manifestlabel ml
  JOIN label l ON l.id = ml.label_id
  JOIN mediatype mt ON mt.id = l.media_type_id
  JOIN labelsourcetype st ON st.id = l.source_type_id
 WHERE ml.manifest_id = $1
 ORDER BY l.id
