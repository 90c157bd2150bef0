-- The store's statements for a user's in-app notifications (server/src/store/inbox.rs): Quay's
-- `notification` rows addressed to the user, or to an organization where the user is in an
-- admin team (Quay's list_notifications).

-- name: list
-- Not dismissed, newest first: uuid, kind, created, metadata, dismissed, target name, target is
-- an organization. $1 user, $2 limit, $3 offset.
SELECT n.uuid, k.name, {ts:n.created}, n.metadata_json, n.dismissed, t.username, t.organization
  FROM notification n
  JOIN notificationkind k ON k.id = n.kind_id
  JOIN "user" t ON t.id = n.target_id
 WHERE NOT n.dismissed
   AND (n.target_id = $1
        OR n.target_id IN (SELECT at.organization_id FROM team at
                             JOIN teamrole tr ON tr.id = at.role_id AND tr.name = 'admin'
                             JOIN teammember tm ON tm.team_id = at.id
                            WHERE tm.user_id = $1))
 ORDER BY n.created DESC, n.id DESC
 LIMIT $2 OFFSET $3

-- name: one
-- One notification by uuid $2 for user $1 (dismissed ones too); the columns of `list`.
SELECT n.uuid, k.name, {ts:n.created}, n.metadata_json, n.dismissed, t.username, t.organization
  FROM notification n
  JOIN notificationkind k ON k.id = n.kind_id
  JOIN "user" t ON t.id = n.target_id
 WHERE n.uuid = $2
   AND (n.target_id = $1
        OR n.target_id IN (SELECT at.organization_id FROM team at
                             JOIN teamrole tr ON tr.id = at.role_id AND tr.name = 'admin'
                             JOIN teammember tm ON tm.team_id = at.id
                            WHERE tm.user_id = $1))

-- name: targets
-- Who a `quay_notification` target means (Quay's QuayNotificationMethod): kind $1 (`user`,
-- `org`, `team`), name $2, the repository's namespace $3 (a team is one of its teams): the
-- account ids to address (a team: its members; an organization: itself, seen by its admins,
-- and only the repository's own organization, as Quay).
SELECT u.id FROM "user" u
 WHERE u.username = $2 AND u.enabled AND NOT u.robot
   AND (($1 = 'user' AND NOT u.organization) OR ($1 = 'org' AND u.organization AND $2 = $3))
UNION
SELECT tm.user_id FROM teammember tm
  JOIN team t ON t.id = tm.team_id
  JOIN "user" o ON o.id = t.organization_id AND o.username = $3
 WHERE $1 = 'team' AND t.name = $2

-- name: deliver
-- One in-app notification: $1 uuid, $2 kind name, $3 target account, $4 metadata JSON.
INSERT INTO notification (uuid, kind_id, target_id, metadata_json, created, dismissed)
SELECT $1, k.id, $3, $4, {now}, false FROM notificationkind k WHERE k.name = $2
RETURNING id

-- name: dismiss
-- Sets notification $2's `dismissed` to $3 when user $1 may see it (the rule of `list`).
UPDATE notification SET dismissed = $3
 WHERE uuid = $2
   AND (target_id = $1
        OR target_id IN (SELECT at.organization_id FROM team at
                           JOIN teamrole tr ON tr.id = at.role_id AND tr.name = 'admin'
                           JOIN teammember tm ON tm.team_id = at.id
                          WHERE tm.user_id = $1))
RETURNING id
