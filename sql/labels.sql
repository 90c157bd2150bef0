-- Manifest labels (quay_core::labels): `label` rows linked to manifests by `manifestlabel`.

-- name: manifest_of
SELECT id FROM manifest WHERE repository_id = $1 AND digest = $2

-- name: same_label
-- A label of manifest $1 with key $2, value $3 and source $4 (push-time labels are added once).
SELECT l.id FROM manifestlabel ml
  JOIN label l ON l.id = ml.label_id
  JOIN labelsourcetype st ON st.id = l.source_type_id
 WHERE ml.manifest_id = $1 AND l."key" = $2 AND l.value = $3 AND st.name = $4

-- name: insert_label
-- $1 uuid, $2 key, $3 value, $4 media type name, $5 source type name.
INSERT INTO label (uuid, "key", value, media_type_id, source_type_id)
SELECT $1, $2, $3, mt.id, st.id FROM mediatype mt, labelsourcetype st
 WHERE mt.name = $4 AND st.name = $5
RETURNING id

-- name: link
INSERT INTO manifestlabel (repository_id, manifest_id, label_id) VALUES ($1, $2, $3)

-- name: label_of
-- Label $2 of manifest $1: id, whether its source lets it be removed.
SELECT l.id, st.mutable FROM manifestlabel ml
  JOIN label l ON l.id = ml.label_id
  JOIN labelsourcetype st ON st.id = l.source_type_id
 WHERE ml.manifest_id = $1 AND l.uuid = $2

-- name: unlink
DELETE FROM manifestlabel WHERE label_id = $1

-- name: delete_label
DELETE FROM label WHERE id = $1
