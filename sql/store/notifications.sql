-- The store's statements for repository notifications (server/src/store/notifications.rs).

-- name: of_repository
-- The notifications of repository $1 in creation order: uuid, event, method, title, config
-- JSON, event config JSON, failures.
SELECT n.uuid, e.name, m.name, n.title, n.config_json, n.event_config_json, n.number_of_failures
  FROM repositorynotification n
  JOIN externalnotificationevent e ON e.id = n.event_id
  JOIN externalnotificationmethod m ON m.id = n.method_id
 WHERE n.repository_id = $1
 ORDER BY n.id

-- name: by_uuid
-- Notification $1 for delivery: uuid, event, method, title, config JSON, event config JSON,
-- failures.
SELECT n.uuid, e.name, m.name, n.title, n.config_json, n.event_config_json, n.number_of_failures
  FROM repositorynotification n
  JOIN externalnotificationevent e ON e.id = n.event_id
  JOIN externalnotificationmethod m ON m.id = n.method_id
 WHERE n.uuid = $1

-- name: delivered
-- A delivery of notification $1 succeeded: its failure count starts over (Quay's
-- reset_number_of_failures_to_zero).
UPDATE repositorynotification SET number_of_failures = 0 WHERE uuid = $1 RETURNING id

-- name: failed
-- A delivery of notification $1 failed (Quay's increment_notification_failure_count).
UPDATE repositorynotification SET number_of_failures = number_of_failures + 1 WHERE uuid = $1
RETURNING number_of_failures

-- name: email_authorized
-- $1 repository, $2 address: confirmed for the repository (repositoryauthorizedemail, Quay's
-- rule). An account's own address is not enough: without mailing nothing proves it is theirs.
SELECT 1 FROM repositoryauthorizedemail WHERE repository_id = $1 AND email = $2 AND confirmed = true
