-- quay.queue_complete: the job is done; the item goes away. $1 id.
DELETE FROM queueitem WHERE id = $1
RETURNING id
