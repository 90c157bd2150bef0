-- One queue item as text columns (timestamps rendered the same way on both backends). $1 id.
SELECT id, queue_name, body, {ts:available_after}, available, {ts:processing_expires},
       retries_remaining, state_id
  FROM queueitem WHERE id = $1
