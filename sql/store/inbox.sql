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
