-- Repository notifications (quay_core::notifications): `repositorynotification` rows.

-- name: insert
-- $1 uuid, $2 repository, $3 event name, $4 method name, $5 title, $6 config JSON, $7 event
-- config JSON. Nothing when the event or method is unknown.
INSERT INTO repositorynotification (uuid, repository_id, event_id, method_id, title, config_json,
                                    event_config_json, number_of_failures)
SELECT $1, $2, e.id, m.id, $5, $6, $7, 0
  FROM externalnotificationevent e, externalnotificationmethod m
 WHERE e.name = $3 AND m.name = $4
RETURNING id

-- name: event_known
SELECT id FROM externalnotificationevent WHERE name = $1

-- name: method_known
SELECT id FROM externalnotificationmethod WHERE name = $1

-- name: reset
UPDATE repositorynotification SET number_of_failures = 0 WHERE repository_id = $1 AND uuid = $2 RETURNING id

-- name: delete
DELETE FROM repositorynotification WHERE repository_id = $1 AND uuid = $2 RETURNING id

-- name: target
-- Notification $2 of repository $1: its event name and the repository's full name parts.
SELECT e.name, ns.username, r.name
  FROM repositorynotification n
  JOIN externalnotificationevent e ON e.id = n.event_id
  JOIN repository r ON r.id = n.repository_id
  JOIN "user" ns ON ns.id = r.namespace_user_id
 WHERE n.repository_id = $1 AND n.uuid = $2

-- name: subscribed
-- The notifications of repository $1 for event $2: uuid, namespace name, repository name.
SELECT n.uuid, ns.username, r.name
  FROM repositorynotification n
  JOIN externalnotificationevent e ON e.id = n.event_id AND e.name = $2
  JOIN repository r ON r.id = n.repository_id
  JOIN "user" ns ON ns.id = r.namespace_user_id
 WHERE n.repository_id = $1
 ORDER BY n.id

-- name: unref_successes
-- Before a notification goes: its tagnotificationsuccess rows (they reference it).
DELETE FROM tagnotificationsuccess
 WHERE notification_id IN (SELECT id FROM repositorynotification WHERE repository_id = $1 AND uuid = $2)

-- Tag expiry notifications (repo_image_expiry, Quay's scan_for_image_expiry_notifications).
-- name: expiry_due
-- Up to 10 repo_image_expiry notifications not disabled and not scanned since $1 (epoch ms),
-- least recently scanned first: id, uuid, event config, method id, namespace, repository, its id.
SELECT n.id, n.uuid, n.event_config_json, n.method_id, ns.username, r.name, r.id
  FROM repositorynotification n
  JOIN externalnotificationevent e ON e.id = n.event_id AND e.name = 'repo_image_expiry'
  JOIN repository r ON r.id = n.repository_id
  JOIN "user" ns ON ns.id = r.namespace_user_id
 WHERE n.number_of_failures < 3
   AND (n.last_ran_ms IS NULL OR n.last_ran_ms < $1)
 ORDER BY n.last_ran_ms NULLS FIRST, n.id
 LIMIT 10
 {skip_locked_of:n}

-- name: mark_scanned
UPDATE repositorynotification SET last_ran_ms = $2 WHERE id = $1

-- name: expiring_tags
-- Alive, visible tags of repository $1 whose expiry falls in ($2, $3] (epoch ms) and that
-- notification $4 (method $5) has not announced yet: id, name.
SELECT t.id, t.name FROM tag t
 WHERE t.repository_id = $1
   AND t.lifetime_end_ms IS NOT NULL AND t.lifetime_end_ms > $2 AND t.lifetime_end_ms <= $3
   AND t.hidden = false
   AND t.id NOT IN (SELECT s.tag_id FROM tagnotificationsuccess s
                     WHERE s.notification_id = $4 AND s.method_id = $5)
 ORDER BY t.name

-- name: announced
INSERT INTO tagnotificationsuccess (notification_id, tag_id, method_id) VALUES ($1, $2, $3)

-- name: subscribed_in_namespace
-- The notifications of every repository of namespace $1 for event $2 (a namespace event such as
-- quota_warning): uuid, namespace name, repository name.
SELECT n.uuid, ns.username, r.name
  FROM repositorynotification n
  JOIN externalnotificationevent e ON e.id = n.event_id AND e.name = $2
  JOIN repository r ON r.id = n.repository_id
  JOIN "user" ns ON ns.id = r.namespace_user_id
 WHERE r.namespace_user_id = $1
 ORDER BY n.id
