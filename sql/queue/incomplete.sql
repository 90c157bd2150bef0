-- quay.queue_incomplete: give the item back, available again after $2 seconds; $3 = 1 restores
-- the retry the claim consumed. New state_id $4. Returns retries_remaining.
UPDATE queueitem
   SET available = true,
       available_after = {now_plus:$2},
       retries_remaining = retries_remaining + $3,
       state_id = $4
 WHERE id = $1
RETURNING retries_remaining
