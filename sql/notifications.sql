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
