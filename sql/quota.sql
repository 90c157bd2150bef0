-- Storage quotas (quay_core::quota): the running totals in quotanamespacesize and
-- quotarepositorysize, kept by the writes that add and remove manifestblob rows, under a lock
-- per namespace; the quota and its limits (userorganizationquota, quotalimits).

-- name: namespace_of_repository
SELECT namespace_user_id FROM repository WHERE id = $1

-- name: repository_delta
-- $1 manifest, $2 repository: the bytes of the manifest's blobs no other manifest of the
-- repository references (what the manifest adds to the repository, or takes away with it).
SELECT CAST(COALESCE(SUM(COALESCE(s.image_size, 0)), 0) AS BIGINT) FROM imagestorage s
 WHERE s.id IN (SELECT mb.blob_id FROM manifestblob mb WHERE mb.manifest_id = $1)
   AND NOT EXISTS (SELECT 1 FROM manifestblob o
                    WHERE o.blob_id = s.id AND o.repository_id = $2 AND o.manifest_id <> $1)

-- name: namespace_delta
-- $1 manifest, $2 namespace: the same over every repository of the namespace.
SELECT CAST(COALESCE(SUM(COALESCE(s.image_size, 0)), 0) AS BIGINT) FROM imagestorage s
 WHERE s.id IN (SELECT mb.blob_id FROM manifestblob mb WHERE mb.manifest_id = $1)
   AND NOT EXISTS (SELECT 1 FROM manifestblob o JOIN repository r ON r.id = o.repository_id
                    WHERE o.blob_id = s.id AND r.namespace_user_id = $2 AND o.manifest_id <> $1)

-- name: repository_recount
-- $1 repository, $2 a manifest left out (0: none): the distinct blobs' bytes.
SELECT CAST(COALESCE(SUM(COALESCE(s.image_size, 0)), 0) AS BIGINT) FROM imagestorage s
 WHERE s.id IN (SELECT mb.blob_id FROM manifestblob mb WHERE mb.repository_id = $1 AND mb.manifest_id <> $2)

-- name: namespace_recount
-- $1 namespace, $2 a manifest left out (0: none).
SELECT CAST(COALESCE(SUM(COALESCE(s.image_size, 0)), 0) AS BIGINT) FROM imagestorage s
 WHERE s.id IN (SELECT mb.blob_id FROM manifestblob mb JOIN repository r ON r.id = mb.repository_id
                 WHERE r.namespace_user_id = $1 AND mb.manifest_id <> $2)

-- name: repository_size
SELECT size_bytes, backfill_complete FROM quotarepositorysize WHERE repository_id = $1

-- name: namespace_size
SELECT size_bytes, backfill_complete FROM quotanamespacesize WHERE namespace_user_id = $1

-- name: set_repository_size
INSERT INTO quotarepositorysize (repository_id, size_bytes, backfill_start_ms, backfill_complete)
VALUES ($1, $2, 0, true)
ON CONFLICT (repository_id) DO UPDATE SET size_bytes = $2, backfill_complete = true

-- name: set_namespace_size
INSERT INTO quotanamespacesize (namespace_user_id, size_bytes, backfill_start_ms, backfill_complete)
VALUES ($1, $2, 0, true)
ON CONFLICT (namespace_user_id) DO UPDATE SET size_bytes = $2, backfill_complete = true

-- name: limits
-- $1 namespace -> limit bytes, type name, percent, limit id (none without a quota).
SELECT q.limit_bytes, t.name, l.percent_of_limit, l.id FROM userorganizationquota q
  JOIN quotalimits l ON l.quota_id = q.id
  JOIN quotatype t ON t.id = l.quota_type_id
 WHERE q.namespace_id = $1
 ORDER BY l.percent_of_limit, l.id

-- name: notification_due
-- $1 namespace, $2 percent, $3 minus the cooldown in seconds -> false while the limit was notified within the
-- cooldown and has not been cleared since (no row: due).
SELECT cleared OR last_notified_at IS NULL OR last_notified_at <= {now_plus:$3} FROM quotanotificationstate
 WHERE namespace_id = $1 AND threshold_percent = $2

-- name: set_notification_state
-- $1 namespace, $2 percent, $3 cleared, $4 notified now (bool)
INSERT INTO quotanotificationstate (namespace_id, threshold_percent, last_notified_at, cleared)
VALUES ($1, $2, CASE WHEN $4 THEN {now} END, $3)
ON CONFLICT (namespace_id, threshold_percent)
DO UPDATE SET cleared = $3,
              last_notified_at = CASE WHEN $4 THEN {now} ELSE quotanotificationstate.last_notified_at END

-- name: quota_of_namespace
SELECT id, limit_bytes FROM userorganizationquota WHERE namespace_id = $1

-- name: insert_quota
INSERT INTO userorganizationquota (namespace_id, limit_bytes) VALUES ($1, $2)
ON CONFLICT (namespace_id) DO NOTHING
RETURNING id

-- name: update_quota
UPDATE userorganizationquota SET limit_bytes = $3 WHERE id = $2 AND namespace_id = $1 RETURNING id

-- name: delete_quota_limits
DELETE FROM quotalimits WHERE quota_id IN (SELECT id FROM userorganizationquota WHERE id = $2 AND namespace_id = $1)

-- name: delete_quota
DELETE FROM userorganizationquota WHERE id = $2 AND namespace_id = $1 RETURNING id

-- name: clear_notification_states
DELETE FROM quotanotificationstate WHERE namespace_id = $1

-- name: quota_type_id
SELECT id FROM quotatype WHERE name = $1

-- name: same_limit
-- $1 quota, $2 type id, $3 percent, $4 a limit left out (0: none)
SELECT id FROM quotalimits WHERE quota_id = $1 AND quota_type_id = $2 AND percent_of_limit = $3 AND id <> $4

-- name: insert_limit
INSERT INTO quotalimits (quota_id, quota_type_id, percent_of_limit) VALUES ($1, $2, $3) RETURNING id

-- name: update_limit
UPDATE quotalimits SET quota_type_id = $3, percent_of_limit = $4 WHERE id = $2 AND quota_id = $1 RETURNING id

-- name: delete_limit
DELETE FROM quotalimits WHERE id = $2 AND quota_id = $1 RETURNING id

-- name: namespace_name
SELECT username FROM "user" WHERE id = $1

-- name: inbox_waiting
-- $1 target, $2 kind name, $3 metadata JSON: the same in-app notice, not dismissed yet.
SELECT n.id FROM notification n JOIN notificationkind k ON k.id = n.kind_id
 WHERE n.target_id = $1 AND k.name = $2 AND n.metadata_json = $3 AND NOT n.dismissed
 LIMIT 1

-- name: inbox_insert
-- $1 uuid, $2 target, $3 metadata JSON, $4 kind name.
INSERT INTO notification (uuid, kind_id, target_id, metadata_json, created, dismissed)
SELECT $1, k.id, $2, $3, {now}, false FROM notificationkind k WHERE k.name = $4
