-- quay.queue_claim: claim one eligible item under a literal name prefix ($1), leasing it for $2
-- seconds, with a new state_id ($3). Eligible = Quay's rule: available_after <= now, (waiting or
-- lease expired), retries left. Concurrent claimers skip each other's locked candidates.
-- Two statements so each can use its own index: waiting items first (the extension's partial
-- index quay_queueitem_waiting on id WHERE available), then expired leases.

-- name: waiting
UPDATE queueitem
   SET available = false,
       processing_expires = {now_plus:$2},
       retries_remaining = retries_remaining - 1,
       state_id = $3
 WHERE id = (SELECT id FROM queueitem
              WHERE available = true
                AND substr(queue_name, 1, length($1)) = $1
                AND available_after <= {now}
                AND retries_remaining > 0
              ORDER BY id
              LIMIT 1
              {skip_locked})
RETURNING id

-- name: expired
UPDATE queueitem
   SET available = false,
       processing_expires = {now_plus:$2},
       retries_remaining = retries_remaining - 1,
       state_id = $3
 WHERE id = (SELECT id FROM queueitem
              WHERE available = false
                AND processing_expires <= {now}
                AND substr(queue_name, 1, length($1)) = $1
                AND available_after <= {now}
                AND retries_remaining > 0
              ORDER BY processing_expires
              LIMIT 1
              {skip_locked})
RETURNING id
