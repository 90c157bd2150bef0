-- Action logs (quay_core::logs): the `logentry3` row an API action writes in its own
-- transaction, with its kind looked up by name in `logentrykind`.

-- name: insert
-- $1 kind name, $2 account (namespace) id, $3 performer id, $4 repository id, $5 ip,
-- $6 metadata JSON text. Nothing when the kind is unknown (the caller refuses that).
INSERT INTO logentry3 (kind_id, account_id, performer_id, repository_id, datetime, ip, metadata_json)
SELECT k.id, $2, $3, $4, {now}, $5, $6 FROM logentrykind k WHERE k.name = $1
RETURNING id

-- name: repository_namespace
-- The namespace of repository $1 (a repository action's log account).
SELECT namespace_user_id FROM repository WHERE id = $1
