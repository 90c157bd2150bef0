-- Global messages (`messages`), shown to every user of the web UI.

-- name: all
SELECT m.uuid, m.content, m.severity, mt.name
  FROM messages m JOIN mediatype mt ON mt.id = m.media_type_id
 ORDER BY m.id
