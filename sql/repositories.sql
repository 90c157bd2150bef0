-- Repository creation (quay_core::repositories), after quay-data-model.md §1.3 and §6.

-- name: namespace
SELECT id, enabled, organization FROM "user" WHERE id = $1 AND NOT robot

-- name: live_repository
SELECT id FROM repository WHERE namespace_user_id = $1 AND name = $2 AND state <> 3

-- name: insert_repository
-- $3: visibility name; $4: badge token.
INSERT INTO repository (namespace_user_id, name, visibility_id, badge_token, kind_id, trust_enabled, state)
SELECT $1, $2, v.id, $4, k.id, false, 0
  FROM visibility v, repositorykind k
 WHERE v.name = $3 AND k.name = 'image'
ON CONFLICT DO NOTHING
RETURNING id

-- name: insert_action_count
INSERT INTO repositoryactioncount (repository_id, count, date)
VALUES ($1, 0, {yesterday})
ON CONFLICT DO NOTHING

-- name: insert_search_score
INSERT INTO repositorysearchscore (repository_id, score, last_updated)
VALUES ($1, 0, {now})
ON CONFLICT DO NOTHING

-- name: creator_admin
-- The creating user (not an organization) gets admin; robots are users.
INSERT INTO repositorypermission (user_id, repository_id, role_id)
SELECT u.id, $2, ro.id FROM "user" u, role ro
 WHERE u.id = $1 AND NOT u.organization AND ro.name = 'admin'
ON CONFLICT DO NOTHING

-- name: prototypes
-- The organization's default permissions that apply to a creator: a prototype for this creator
-- beats a creator-less one for the same delegate. Columns: delegate user, delegate team, role.
SELECT p.delegate_user_id, p.delegate_team_id, p.role_id
  FROM permissionprototype p
 WHERE p.org_id = $1
   AND (p.activating_user_id = $2
        OR (p.activating_user_id IS NULL
            AND NOT EXISTS (SELECT 1 FROM permissionprototype s
                             WHERE s.org_id = p.org_id AND s.activating_user_id = $2
                               AND s.delegate_user_id IS NOT DISTINCT FROM p.delegate_user_id
                               AND s.delegate_team_id IS NOT DISTINCT FROM p.delegate_team_id)))
 ORDER BY p.id

-- name: grant_user
INSERT INTO repositorypermission (user_id, repository_id, role_id) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING

-- name: grant_team
INSERT INTO repositorypermission (team_id, repository_id, role_id) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING

-- name: can_create
-- The caller may create repositories in the namespace: it is the namespace, or a member of one
-- of the organization's teams with the admin or creator role. Disabled callers may not.
SELECT 1 FROM "user" u
 WHERE u.id = $1 AND u.enabled
   AND (u.id = $2
        OR EXISTS (SELECT 1 FROM team t
                     JOIN teamrole tr ON tr.id = t.role_id AND tr.name IN ('admin', 'creator')
                     JOIN teammember tm ON tm.team_id = t.id
                    WHERE t.organization_id = $2 AND tm.user_id = u.id))

-- name: repository_state
-- $1 repository id -> state (NULL when missing)
SELECT state FROM repository WHERE id = $1

-- name: namespace_id_by_name
-- A user or organization (not a robot) by name.
SELECT id FROM "user" WHERE username = $1 AND robot = false

-- name: set_description
UPDATE repository SET description = $2 WHERE id = $1

-- name: set_visibility
-- $2: visibility name.
UPDATE repository SET visibility_id = (SELECT v.id FROM visibility v WHERE v.name = $2) WHERE id = $1

-- name: set_state
-- $2: the new state (0 NORMAL, 1 READ_ONLY, 2 MIRROR).
UPDATE repository SET state = $2 WHERE id = $1

-- name: live_namespace
-- The namespace of live repository $1.
SELECT namespace_user_id FROM repository WHERE id = $1 AND state <> 3

-- name: count_actions_yesterday
-- Quay's repository action counter: every live repository's log entries of yesterday (UTC) into
-- repositoryactioncount (what `popularity` sums). A repository that already has yesterday's
-- count (written here, by Python Quay's worker, or the 0 its creation writes) keeps it.
-- Rows go in repository order, so two workers counting at once never wait on each other in a
-- circle. Returns the repositories counted.
INSERT INTO repositoryactioncount (repository_id, count, date)
SELECT l.repository_id, count(*), {yesterday}
  FROM logentry3 l
  JOIN repository r ON r.id = l.repository_id AND r.state <> 3
 WHERE l.datetime >= {yesterday} AND l.datetime < {today}
 GROUP BY l.repository_id
 ORDER BY l.repository_id
ON CONFLICT (repository_id, date) DO NOTHING
RETURNING repository_id
