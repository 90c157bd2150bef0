-- Action logs (quay_core::logs): the `logentry3` row an API action writes in its own
-- transaction, with its kind looked up by name in `logentrykind`.

-- name: insert
-- $1 kind name, $2 account (namespace) id, $3 performer id, $4 repository id, $5 ip,
-- $6 metadata JSON text. Nothing when the kind is unknown (the caller refuses that).
INSERT INTO logentry3 (kind_id, account_id, performer_id, repository_id, datetime, ip, metadata_json)
SELECT k.id, $2, $3, $4, {now}, $5, $6 FROM logentrykind k WHERE k.name = $1
RETURNING id

-- name: insert_batch
-- Many entries in one statement: $1 a JSON array of {kind, account_id, performer_id,
-- repository_id, ip, metadata (JSON text)}; entries of unknown kinds are left out (the caller
-- compares the count).
INSERT INTO logentry3 (kind_id, account_id, performer_id, repository_id, datetime, ip, metadata_json)
SELECT k.id, CAST({jtext:account_id} AS INTEGER), CAST({jtext:performer_id} AS INTEGER),
       CAST({jtext:repository_id} AS INTEGER), {now}, {jtext:ip}, {jtext:metadata}
  FROM {json_values:$1}
  JOIN logentrykind k ON k.name = {jtext:kind}
RETURNING id

-- name: repository_namespace
-- The namespace of repository $1 (a repository action's log account).
SELECT namespace_user_id FROM repository WHERE id = $1
