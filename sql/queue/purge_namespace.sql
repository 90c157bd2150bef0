-- quay.queue_purge_namespace: delete every item of a namespace on the namespaced queues, including
-- proxycacheblob and exportactionlogs (which Quay forgets). namespacegc is not namespaced on purpose.
-- $1 namespace name (matched literally, no LIKE wildcards).
DELETE FROM queueitem
 WHERE substr(queue_name, 1, length('dockerfilebuild/' || $1 || '/')) = 'dockerfilebuild/' || $1 || '/'
    OR substr(queue_name, 1, length('notification/' || $1 || '/')) = 'notification/' || $1 || '/'
    OR substr(queue_name, 1, length('repositorygc/' || $1 || '/')) = 'repositorygc/' || $1 || '/'
    OR substr(queue_name, 1, length('proxycacheblob/' || $1 || '/')) = 'proxycacheblob/' || $1 || '/'
    OR substr(queue_name, 1, length('exportactionlogs/' || $1 || '/')) = 'exportactionlogs/' || $1 || '/'
RETURNING id
