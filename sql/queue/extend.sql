-- quay.queue_extend: move a running item's lease to now + $2 seconds (never shortens it).
-- New state_id $3.
UPDATE queueitem
   SET processing_expires = {now_plus:$2},
       state_id = $3
 WHERE id = $1 AND available = false AND processing_expires < {now_plus:$2}
RETURNING id
