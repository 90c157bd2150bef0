-- quay.queue_claim with ordering_required: FIFO by id, and never an item whose exact queue_name
-- already has a running (leased, unexpired) item. Callers serialise ordered claims per prefix.
UPDATE queueitem
   SET available = false,
       processing_expires = {now_plus:$2},
       retries_remaining = retries_remaining - 1,
       state_id = $3
 WHERE id = (SELECT id FROM queueitem
              WHERE substr(queue_name, 1, length($1)) = $1
                AND available_after <= {now}
                AND (available = true OR processing_expires <= {now})
                AND retries_remaining > 0
                AND queue_name NOT IN (SELECT r.queue_name FROM queueitem r
                                        WHERE substr(r.queue_name, 1, length($1)) = $1
                                          AND r.available = false AND r.processing_expires > {now})
              ORDER BY id
              LIMIT 1
              {skip_locked})
RETURNING id
