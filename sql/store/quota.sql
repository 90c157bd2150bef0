-- Quotas as the API shows them (server/src/store/quota.rs). Writes are quay.quota_* calls.

-- name: quota_of
-- $1 namespace -> quota id, limit bytes (no row: no quota)
SELECT id, limit_bytes FROM userorganizationquota WHERE namespace_id = $1

-- name: limits_of
-- $1 quota -> limit id, type name, percent
SELECT l.id, t.name, l.percent_of_limit FROM quotalimits l JOIN quotatype t ON t.id = l.quota_type_id
 WHERE l.quota_id = $1
 ORDER BY l.id

-- name: namespace_size
SELECT size_bytes FROM quotanamespacesize WHERE namespace_user_id = $1 AND backfill_complete = true

-- name: repository_size
SELECT size_bytes FROM quotarepositorysize WHERE repository_id = $1 AND backfill_complete = true
