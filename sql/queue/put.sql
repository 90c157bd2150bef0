-- quay.queue_put: insert one waiting item. $1 queue_name, $2 body, $3 available_after seconds,
-- $4 retries_remaining, $5 state_id (a fresh uuid4).
INSERT INTO queueitem (queue_name, body, available_after, available, processing_expires,
                       retries_remaining, state_id)
VALUES ($1, $2, {now_plus:$3}, true, NULL, $4, $5)
RETURNING id
