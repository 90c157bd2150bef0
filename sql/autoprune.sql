-- Auto-prune policies (quay_core::autoprune): namespaceautoprunepolicy, repositoryautoprunepolicy
-- (policy: Quay's double-encoded JSON text), autoprunetaskstatus (one row per namespace).

-- name: namespace_policies
-- $1 namespace -> uuid, policy
SELECT uuid, policy FROM namespaceautoprunepolicy WHERE namespace_id = $1 ORDER BY id

-- name: repository_policies
-- $1 repository -> uuid, policy
SELECT uuid, policy FROM repositoryautoprunepolicy WHERE repository_id = $1 ORDER BY id

-- name: insert_namespace_policy
INSERT INTO namespaceautoprunepolicy (uuid, namespace_id, policy) VALUES ($1, $2, $3)

-- name: insert_repository_policy
INSERT INTO repositoryautoprunepolicy (uuid, repository_id, namespace_id, policy)
SELECT $1, r.id, r.namespace_user_id, $3 FROM repository r WHERE r.id = $2

-- name: update_namespace_policy
UPDATE namespaceautoprunepolicy SET policy = $3 WHERE namespace_id = $1 AND uuid = $2 RETURNING id

-- name: update_repository_policy
UPDATE repositoryautoprunepolicy SET policy = $3 WHERE repository_id = $1 AND uuid = $2 RETURNING id

-- name: delete_namespace_policy
DELETE FROM namespaceautoprunepolicy WHERE namespace_id = $1 AND uuid = $2 RETURNING id

-- name: delete_repository_policy
DELETE FROM repositoryautoprunepolicy WHERE repository_id = $1 AND uuid = $2 RETURNING id

-- name: namespace_of_repository
SELECT namespace_user_id FROM repository WHERE id = $1

-- name: ensure_task
-- A namespace's task row, queued to run at the next pass (Quay's create_task).
INSERT INTO autoprunetaskstatus (namespace_id, last_ran_ms, status) VALUES ($1, NULL, 'queued')
ON CONFLICT (namespace_id) DO NOTHING

-- name: due_tasks
-- Up to $2 namespaces whose task last ran before $1 (epoch ms) or never, oldest first; others'
-- candidates are skipped, so concurrent workers share them.
SELECT t.namespace_id FROM autoprunetaskstatus t
  JOIN "user" u ON u.id = t.namespace_id AND u.enabled = true
 WHERE t.last_ran_ms IS NULL OR t.last_ran_ms < $1
 ORDER BY t.last_ran_ms NULLS FIRST, t.id
 LIMIT $2
 {skip_locked_of:t}

-- name: set_task
UPDATE autoprunetaskstatus SET last_ran_ms = $2, status = $3 WHERE namespace_id = $1

-- name: delete_task
DELETE FROM autoprunetaskstatus WHERE namespace_id = $1

-- name: live_repositories
-- $1 namespace: repositories in the normal state (0), by id.
SELECT id FROM repository WHERE namespace_user_id = $1 AND state = 0 ORDER BY id

-- name: alive_visible_tags
-- $1 repository, $2 now (epoch ms): alive visible tags, newest first (Quay's order).
SELECT id, name, lifetime_start_ms, immutable FROM tag
 WHERE repository_id = $1 AND hidden = false
   AND (lifetime_end_ms IS NULL OR lifetime_end_ms > $2)
 ORDER BY lifetime_start_ms DESC, id DESC

-- name: repository_names
-- $1 repository -> namespace name, repository name
SELECT u.username, r.name FROM repository r JOIN "user" u ON u.id = r.namespace_user_id WHERE r.id = $1

-- name: has_policies
-- $1 repository: whether its namespace or it has a policy.
SELECT 1 FROM repository r
 WHERE r.id = $1
   AND (EXISTS (SELECT 1 FROM namespaceautoprunepolicy p WHERE p.namespace_id = r.namespace_user_id)
        OR EXISTS (SELECT 1 FROM repositoryautoprunepolicy p WHERE p.repository_id = r.id))

-- name: waiting_item
SELECT id FROM queueitem WHERE queue_name = $1 AND available = true LIMIT 1
