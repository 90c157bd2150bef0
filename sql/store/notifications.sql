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
