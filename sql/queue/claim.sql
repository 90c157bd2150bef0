-- quay.queue_claim: find one eligible item under a literal name prefix ($1), lock it (concurrent
-- claimers skip each other's locked candidates), then lease it. Eligible = Quay's rule:
-- available_after <= now, (waiting or lease expired), retries left. Unordered claims try waiting
-- items first (the extension's partial index quay_queueitem_waiting on id WHERE available), then
-- expired leases, so each statement stays on an index.

-- name: waiting
-- Waiting items of prefix $1, up to $2 (1 for a single claim, more for a batch).
SELECT id FROM queueitem
 WHERE available = true
   AND substr(queue_name, 1, length($1)) = $1
   AND available_after <= {now}
   AND retries_remaining > 0
 ORDER BY id
 LIMIT $2
 {skip_locked}

-- name: expired
SELECT id FROM queueitem
 WHERE available = false
   AND processing_expires <= {now}
   AND substr(queue_name, 1, length($1)) = $1
   AND available_after <= {now}
   AND retries_remaining > 0
 ORDER BY processing_expires
 LIMIT 1
 {skip_locked}

-- name: ordered
-- ordering_required: FIFO by id, and never an item whose exact queue_name already has a running
-- (leased, unexpired) item. Callers serialise ordered claims per prefix.
SELECT id FROM queueitem
 WHERE substr(queue_name, 1, length($1)) = $1
   AND available_after <= {now}
   AND (available = true OR processing_expires <= {now})
   AND retries_remaining > 0
   AND queue_name NOT IN (SELECT r.queue_name FROM queueitem r
                           WHERE substr(r.queue_name, 1, length($1)) = $1
                             AND r.available = false AND r.processing_expires > {now})
 ORDER BY id
 LIMIT 1
 {skip_locked}

-- name: lease
-- $1 the locked candidate, $2 lease seconds, $3 new state_id; returns the row as get.sql does.
UPDATE queueitem
   SET available = false,
       processing_expires = {now_plus:$2},
       retries_remaining = retries_remaining - 1,
       state_id = $3
 WHERE id = $1
RETURNING id, queue_name, body, {ts:available_after}, available, {ts:processing_expires},
          retries_remaining, state_id
