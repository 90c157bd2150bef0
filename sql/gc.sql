-- Garbage collection and delete cascades (quay_core::gc): quay.gc_repository,
-- quay.repository_delete / repository_purge, quay.namespace_delete / namespace_purge.
-- Order follows Quay (quay-data-model.md §5); no database cascades, every step safe to re-run.

-- name: repository_for_gc
-- $1 repository -> namespace window (s), state, name, namespace name
SELECT u.removed_tag_expiration_s, r.state, r.name, u.username
  FROM repository r JOIN "user" u ON u.id = r.namespace_user_id
 WHERE r.id = $1

-- name: unrecoverable_tags
-- Tags ended at or before $2 (now minus the window), oldest first.
SELECT id, manifest_id, name FROM tag
 WHERE repository_id = $1 AND lifetime_end_ms IS NOT NULL AND lifetime_end_ms <= $2
 ORDER BY id

-- name: all_tags
SELECT id, manifest_id, name FROM tag WHERE repository_id = $1 ORDER BY id

-- name: unlink_tag
UPDATE tag SET linked_tag_id = NULL WHERE linked_tag_id = $1

-- name: delete_tag_notifications
DELETE FROM tagnotificationsuccess WHERE tag_id = $1

-- name: delete_tag
DELETE FROM tag WHERE id = $1

-- name: delete_orphan_tag_statistics
-- Pull statistics of a name go with its last generation.
DELETE FROM tagpullstatistics
 WHERE repository_id = $1 AND tag_name = $2
   AND NOT EXISTS (SELECT 1 FROM tag WHERE repository_id = $1 AND name = $2)

-- name: delete_expired_uploads
DELETE FROM uploadedblob WHERE repository_id = $1 AND expires_at <= {now} RETURNING blob_id

-- name: delete_all_uploads
DELETE FROM uploadedblob WHERE repository_id = $1 RETURNING blob_id

-- name: delete_repository_children
DELETE FROM manifestchild WHERE repository_id = $1

-- name: all_manifests
SELECT id FROM manifest WHERE repository_id = $1 ORDER BY id

-- name: manifest_blobs
SELECT blob_id FROM manifestblob WHERE manifest_id = $1

-- name: manifest_labels
SELECT label_id FROM manifestlabel WHERE manifest_id = $1

-- name: manifest_children
SELECT child_manifest_id FROM manifestchild WHERE manifest_id = $1

-- name: unused_manifest
-- The manifest's digest and repository if nothing keeps it: no tag row at all (alive, expired,
-- hidden or in the window), no parent list, no referrer in the same repository.
SELECT m.digest, m.repository_id FROM manifest m
 WHERE m.id = $1
   AND NOT EXISTS (SELECT 1 FROM tag t WHERE t.manifest_id = m.id)
   AND NOT EXISTS (SELECT 1 FROM manifestchild c WHERE c.child_manifest_id = m.id)
   AND NOT EXISTS (SELECT 1 FROM manifest s
                    WHERE s.repository_id = m.repository_id AND s.subject = m.digest AND s.id <> m.id)
 {for_update}

-- name: delete_manifest_rows
-- $1 manifest, $2 repository, $3 digest; one statement each, children before the manifest.
DELETE FROM manifestlabel WHERE manifest_id = $1;
DELETE FROM manifestchild WHERE manifest_id = $1;
DELETE FROM manifestblob WHERE manifest_id = $1;
DELETE FROM manifestsecuritystatus WHERE manifest_id = $1;
DELETE FROM manifestpullstatistics WHERE repository_id = $2 AND manifest_digest = $3;
DELETE FROM manifest WHERE id = $1

-- name: delete_unused_label
DELETE FROM label WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM manifestlabel WHERE label_id = $1)

-- name: storage_checksum
SELECT content_checksum FROM imagestorage WHERE id = $1

-- name: orphaned_storage
-- A storage is orphaned when no manifest and no upload link (expired or not) in any repository
-- references it and it has a placement (no placement = an upload in flight).
SELECT s.cas_path, s.content_checksum FROM imagestorage s
 WHERE s.id = $1
   AND NOT EXISTS (SELECT 1 FROM manifestblob mb WHERE mb.blob_id = s.id)
   AND NOT EXISTS (SELECT 1 FROM uploadedblob ub WHERE ub.blob_id = s.id)
   AND EXISTS (SELECT 1 FROM imagestorageplacement p WHERE p.storage_id = s.id)
 {for_update}

-- name: delete_storage_rows
DELETE FROM imagestorageplacement WHERE storage_id = $1;
DELETE FROM imagestoragesignature WHERE storage_id = $1;
DELETE FROM imagestorage WHERE id = $1

-- name: checksum_still_stored
SELECT id FROM imagestorage WHERE content_checksum = $1 LIMIT 1

-- name: delete_repository_rows
-- After its content: Quay's order (builds before triggers before access tokens), then the rest.
DELETE FROM quotarepositorysize WHERE repository_id = $1;
DELETE FROM repositoryautoprunepolicy WHERE repository_id = $1;
DELETE FROM repositorypermission WHERE repository_id = $1;
DELETE FROM repositorybuild WHERE repository_id = $1;
UPDATE repositorybuild SET trigger_id = NULL
 WHERE trigger_id IN (SELECT id FROM repositorybuildtrigger WHERE repository_id = $1);
DELETE FROM repositorybuildtrigger WHERE repository_id = $1;
DELETE FROM repositoryactioncount WHERE repository_id = $1;
DELETE FROM star WHERE repository_id = $1;
DELETE FROM accesstoken WHERE repository_id = $1;
DELETE FROM tagnotificationsuccess
 WHERE notification_id IN (SELECT id FROM repositorynotification WHERE repository_id = $1);
DELETE FROM repositorynotification WHERE repository_id = $1;
DELETE FROM blobupload WHERE repository_id = $1;
DELETE FROM repomirrorconfig WHERE repository_id = $1;
DELETE FROM orgmirrorrepository WHERE repository_id = $1;
DELETE FROM repositoryauthorizedemail WHERE repository_id = $1;
DELETE FROM tagpullstatistics WHERE repository_id = $1;
DELETE FROM manifestpullstatistics WHERE repository_id = $1;
DELETE FROM deletedrepository WHERE repository_id = $1;
UPDATE repomirrorrule SET left_child_id = NULL, right_child_id = NULL WHERE repository_id = $1;
DELETE FROM repomirrorrule WHERE repository_id = $1;
DELETE FROM repositorysearchscore WHERE repository_id = $1;
DELETE FROM repositoryimmutabilitypolicy WHERE repository_id = $1;
UPDATE apprtag SET linked_tag_id = NULL WHERE repository_id = $1;
DELETE FROM apprtag WHERE repository_id = $1;
DELETE FROM repository WHERE id = $1

-- name: mark_repository
-- $1 repository, $2 new name (a uuid): frees the name and hides the repository at once.
DELETE FROM star WHERE repository_id = $1;
UPDATE repository SET name = $2, state = 3 WHERE id = $1

-- name: insert_repository_marker
INSERT INTO deletedrepository (repository_id, marked, original_name) VALUES ($1, {now}, $2) RETURNING id

-- name: set_repository_marker_queue
UPDATE deletedrepository SET queue_id = $2 WHERE id = $1

-- name: namespace_for_delete
-- $1 user id -> username, email, enabled, robot
SELECT username, email, enabled, robot FROM "user" WHERE id = $1

-- name: sole_admin_of
-- Live (enabled) organizations where $1 is the only enabled, non-robot member of an admin team;
-- an organization being deleted (disabled) no longer holds its last admin back. Their names.
SELECT DISTINCT o.username FROM team t
  JOIN teamrole tr ON tr.id = t.role_id AND tr.name = 'admin'
  JOIN teammember tm ON tm.team_id = t.id
  JOIN "user" o ON o.id = t.organization_id AND o.enabled = true
 WHERE tm.user_id = $1
   AND NOT EXISTS (SELECT 1 FROM team t2
                     JOIN teamrole tr2 ON tr2.id = t2.role_id AND tr2.name = 'admin'
                     JOIN teammember tm2 ON tm2.team_id = t2.id
                     JOIN "user" u2 ON u2.id = tm2.user_id
                    WHERE t2.organization_id = t.organization_id AND tm2.user_id <> $1
                      AND u2.robot = false AND u2.enabled = true)
 ORDER BY o.username

-- name: namespace_marker
SELECT id, original_username FROM deletednamespace WHERE namespace_id = $1

-- name: insert_namespace_marker
INSERT INTO deletednamespace (namespace_id, marked, original_username, original_email)
VALUES ($1, {now}, $2, $3) RETURNING id

-- name: set_namespace_marker_queue
UPDATE deletednamespace SET queue_id = $2 WHERE id = $1

-- name: mark_namespace
-- $1 namespace, $2 new username, $3 new e-mail, $4 old username: disables the namespace and its
-- robots (`<old username>+<name>`) so nothing authenticates as them any more.
UPDATE "user" SET enabled = false
 WHERE robot = true AND substr(username, 1, length($4) + 1) = $4 || '+';
UPDATE "user" SET enabled = false, username = $2, email = $3 WHERE id = $1

-- name: disable_namespace
UPDATE "user" SET enabled = false WHERE id = $1

-- name: mark_namespace_repositories
UPDATE repository SET state = 3 WHERE namespace_user_id = $1 AND state <> 3

-- name: namespace_repositories
SELECT id FROM repository WHERE namespace_user_id = $1 ORDER BY id

-- name: namespace_robots
-- Robots of a namespace by name: `<username>+<robot>` for its current or original username.
SELECT id FROM "user"
 WHERE robot = true
   AND (substr(username, 1, length($1) + 1) = $1 || '+'
        OR substr(username, 1, length($2) + 1) = $2 || '+')
 ORDER BY id

-- name: delete_namespace_linked_rows
-- $1 namespace: its teams, OAuth applications, connected build triggers, quotas and org mirrors.
DELETE FROM autoprunetaskstatus WHERE namespace_id = $1;
DELETE FROM namespaceautoprunepolicy WHERE namespace_id = $1;
DELETE FROM teammember WHERE team_id IN (SELECT id FROM team WHERE organization_id = $1);
DELETE FROM teammemberinvite WHERE team_id IN (SELECT id FROM team WHERE organization_id = $1);
DELETE FROM teamsync WHERE team_id IN (SELECT id FROM team WHERE organization_id = $1);
DELETE FROM repositorypermission WHERE team_id IN (SELECT id FROM team WHERE organization_id = $1);
DELETE FROM permissionprototype WHERE delegate_team_id IN (SELECT id FROM team WHERE organization_id = $1);
DELETE FROM team WHERE organization_id = $1;
DELETE FROM oauthassignedtoken WHERE application_id IN (SELECT id FROM oauthapplication WHERE organization_id = $1);
DELETE FROM oauthaccesstoken WHERE application_id IN (SELECT id FROM oauthapplication WHERE organization_id = $1);
DELETE FROM oauthauthorizationcode WHERE application_id IN (SELECT id FROM oauthapplication WHERE organization_id = $1);
DELETE FROM oauthapplication WHERE organization_id = $1;
DELETE FROM quotalimits WHERE quota_id IN (SELECT id FROM userorganizationquota WHERE namespace_id = $1);
DELETE FROM userorganizationquota WHERE namespace_id = $1;
DELETE FROM orgmirrorrepository WHERE org_mirror_config_id IN (SELECT id FROM orgmirrorconfig WHERE organization_id = $1);
DELETE FROM orgmirrorconfig WHERE organization_id = $1

-- name: delete_user_rows
-- $1 a user, organization or robot: every row that references it, then the row itself.
DELETE FROM robotaccountmetadata WHERE robot_account_id = $1;
DELETE FROM robotaccounttoken WHERE robot_account_id = $1;
DELETE FROM teammember WHERE user_id = $1;
DELETE FROM teammemberinvite WHERE user_id = $1 OR inviter_id = $1;
DELETE FROM federatedlogin WHERE user_id = $1;
DELETE FROM repositorypermission WHERE user_id = $1;
DELETE FROM permissionprototype WHERE activating_user_id = $1 OR delegate_user_id = $1 OR org_id = $1;
DELETE FROM notification WHERE target_id = $1;
DELETE FROM orgmirrorrepository WHERE org_mirror_config_id IN (SELECT id FROM orgmirrorconfig WHERE internal_robot_id = $1);
DELETE FROM orgmirrorconfig WHERE internal_robot_id = $1;
DELETE FROM repomirrorconfig WHERE internal_robot_id = $1;
UPDATE repositorybuildtrigger SET pull_robot_id = NULL WHERE pull_robot_id = $1;
UPDATE repositorybuild SET pull_robot_id = NULL WHERE pull_robot_id = $1;
UPDATE repositorybuild SET trigger_id = NULL
 WHERE trigger_id IN (SELECT id FROM repositorybuildtrigger WHERE connected_user_id = $1);
DELETE FROM repositorybuildtrigger WHERE connected_user_id = $1;
UPDATE servicekeyapproval SET approver_id = NULL WHERE approver_id = $1;
DELETE FROM star WHERE user_id = $1;
DELETE FROM appspecificauthtoken WHERE user_id = $1;
DELETE FROM emailconfirmation WHERE user_id = $1;
DELETE FROM oauthaccesstoken WHERE authorized_user_id = $1;
DELETE FROM oauthassignedtoken WHERE assigned_user_id = $1;
DELETE FROM namespacenotification WHERE namespace_id = $1;
DELETE FROM quotanotificationstate WHERE namespace_id = $1;
DELETE FROM quotanamespacesize WHERE namespace_user_id = $1;
DELETE FROM namespaceimmutabilitypolicy WHERE namespace_id = $1;
DELETE FROM repositoryimmutabilitypolicy WHERE namespace_id = $1;
DELETE FROM repositoryautoprunepolicy WHERE namespace_id = $1;
DELETE FROM organizationcontactemail WHERE organization_id = $1;
DELETE FROM organizationrhskus WHERE org_id = $1 OR user_id = $1;
DELETE FROM proxycacheconfig WHERE organization_id = $1;
DELETE FROM redhatsubscriptions WHERE user_id = $1;
DELETE FROM userprompt WHERE user_id = $1;
DELETE FROM userregion WHERE user_id = $1;
DELETE FROM deletednamespace WHERE namespace_id = $1;
DELETE FROM "user" WHERE id = $1

-- name: repositories_with_garbage
-- Live repositories of enabled namespaces holding tags past their namespace's window ($1 = now ms).
SELECT DISTINCT t.repository_id FROM tag t
  JOIN repository r ON r.id = t.repository_id
  JOIN "user" u ON u.id = r.namespace_user_id
 WHERE t.lifetime_end_ms IS NOT NULL
   AND t.lifetime_end_ms <= $1 - u.removed_tag_expiration_s * 1000
   AND r.state <> 3 AND u.enabled = true
 ORDER BY t.repository_id
 LIMIT $2
