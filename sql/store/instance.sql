-- The store's statements for what superusers see of the instance (server/src/store/instance.rs).

-- name: registry_size
-- The registry's size as last computed: bytes, completed (epoch ms), queued, running.
SELECT size_bytes, completed_ms, queued, running FROM quotaregistrysize ORDER BY id LIMIT 1

-- name: service_keys
-- Every service key with its approval: name, kid, service, jwk, metadata, created, expiration,
-- rotation seconds, approval type, approved, notes, approver name, approver e-mail.
SELECT k.name, k.kid, k.service, k.jwk, k.metadata, {ts:k.created_date}, {ts:k.expiration_date},
       k.rotation_duration, a.approval_type, {ts:a.approved_date}, a.notes, u.username, u.email
  FROM servicekey k
  LEFT JOIN servicekeyapproval a ON a.id = k.approval_id
  LEFT JOIN "user" u ON u.id = a.approver_id
 ORDER BY k.id

-- name: queue_depths
-- Per queue (the name's first part): items waiting to be claimed, items leased, and the oldest
-- waiting item's available_after (naive UTC).
SELECT {queue_of:queue_name},
       SUM(CASE WHEN available AND retries_remaining > 0 AND available_after <= {now} THEN 1 ELSE 0 END),
       SUM(CASE WHEN NOT available AND processing_expires > {now} THEN 1 ELSE 0 END),
       MIN(CASE WHEN available AND retries_remaining > 0 AND available_after <= {now} THEN {ts:available_after} END)
  FROM queueitem
 GROUP BY 1

-- name: uploads_open
SELECT COUNT(*) FROM blobupload
