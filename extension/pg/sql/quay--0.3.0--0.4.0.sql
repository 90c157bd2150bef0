-- quay 0.3.0 -> 0.4.0 (ALTER EXTENSION quay UPDATE): accounts, organizations and repositories for
-- /api/v1, each write with its action log in the same transaction (quay.user_create,
-- user_set_password, user_initialize, organization_create and repository_create overloads with
-- e-mail/description and log, repository_set_description, repository_set_visibility,
-- team_set, team_member_add, permission_set, permission_delete, robot_create, robot_set_token,
-- robot_delete, prototype_create, prototype_set_role, prototype_delete, tag_set_expiration,
-- tag_point, tag_delete and tag_restore overloads with a log, repository_delete with a log,
-- team_member_remove, team_delete, label_add, label_delete, notification_create,
-- notification_reset, notification_delete, notification_test, app_token_create,
-- app_token_revoke, log_action) and quay.namespace_access (a caller's role in a namespace). Nothing existing
-- changes. Generated with extension/pg/tools/upgrade_diff.py from `cargo pgrx schema`;
-- tests/tests/sql/extension_upgrade.rs checks that updated databases match a fresh install.
\echo Use "ALTER EXTENSION quay UPDATE TO '0.4.0'" to load this file. \quit

-- quay::app_token_create
CREATE  FUNCTION "app_token_create"(
	"user_id" bigint, /* i64 */
	"token_uuid" TEXT, /* & str */
	"title" TEXT, /* & str */
	"token_name" TEXT, /* & str */
	"encrypted_secret" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'app_token_create_wrapper';

-- requires:
--   app_token_create


COMMENT ON FUNCTION app_token_create(bigint, text, text, text, text, text) IS
  'Create an app-specific token for a person: its public first half (token_name) and its field-encrypted second half, with the action log in the same transaction. QUAY_USER_UNKNOWN.';

-- quay::app_token_revoke
CREATE  FUNCTION "app_token_revoke"(
	"user_id" bigint, /* i64 */
	"token_uuid" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'app_token_revoke_wrapper';

-- requires:
--   app_token_revoke


COMMENT ON FUNCTION app_token_revoke(bigint, text, text) IS
  'Revoke (delete) a person''s app-specific token, with the action log in the same transaction. QUAY_TOKEN_UNKNOWN.';

-- quay::label_add
CREATE  FUNCTION "label_add"(
	"repository_id" bigint, /* i64 */
	"manifest_digest" TEXT, /* & str */
	"label_uuid" TEXT, /* & str */
	"key" TEXT, /* & str */
	"value" TEXT, /* & str */
	"media_type" TEXT DEFAULT 'text/plain', /* & str */
	"source" TEXT DEFAULT 'api', /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS bool /* bool */
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'label_add_wrapper';

-- requires:
--   label_add


COMMENT ON FUNCTION label_add(bigint, text, text, text, text, text, text, text) IS
  'Add a label (key, value, media type text/plain or application/json, source api, manifest or internal) to the repository''s manifest of that digest, with the action log in the same transaction. A manifest-sourced label the manifest already has is not added twice (false). QUAY_INVALID_ARGUMENT (key format, reserved prefix, media type), QUAY_MANIFEST_UNKNOWN.';

-- quay::label_delete
CREATE  FUNCTION "label_delete"(
	"repository_id" bigint, /* i64 */
	"manifest_digest" TEXT, /* & str */
	"label_uuid" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'label_delete_wrapper';

-- requires:
--   label_delete


COMMENT ON FUNCTION label_delete(bigint, text, text, text) IS
  'Delete a label of the repository''s manifest, with the action log in the same transaction. QUAY_LABEL_UNKNOWN, QUAY_INVALID_ARGUMENT (its source makes it immutable), QUAY_MANIFEST_UNKNOWN.';

-- quay::log_action
CREATE  FUNCTION "log_action"(
	"log" TEXT /* & str */
) RETURNS void
STRICT VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'log_action_wrapper';

-- requires:
--   log_action


COMMENT ON FUNCTION log_action(text) IS
  'Write one action log row (logentry3) from its JSON form {kind, account_id?, performer_id?, repository_id?, ip?, metadata}; the kind is looked up by name, the account defaults to the repository''s namespace. Refuses an unknown kind or an entry naming neither account nor repository (QUAY_INVALID_ARGUMENT).';

-- quay::namespace_access
CREATE  FUNCTION "namespace_access"(
	"namespace_name" TEXT, /* & str */
	"user_id" bigint /* Option < i64 > */
) RETURNS TABLE (
	"namespace_id" bigint,  /* i64 */
	"organization" bool,  /* bool */
	"enabled" bool,  /* bool */
	"role" TEXT  /* Option < String > */
)
STABLE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'namespace_access_wrapper';

-- requires:
--   namespace_access


COMMENT ON FUNCTION namespace_access(text, bigint) IS
  'The user or organization of that name and the role a user (NULL = anonymous) has in it: owner (its own namespace), else the best team role in the organization (admin, creator, member), else NULL. No row when no namespace has the name.';

-- quay::notification_create
CREATE  FUNCTION "notification_create"(
	"repository_id" bigint, /* i64 */
	"notification_uuid" TEXT, /* & str */
	"event" TEXT, /* & str */
	"method" TEXT, /* & str */
	"title" TEXT, /* Option < & str > */
	"config_json" TEXT, /* & str */
	"event_config_json" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'notification_create_wrapper';

-- requires:
--   notification_create


COMMENT ON FUNCTION notification_create(bigint, text, text, text, text, text, text, text) IS
  'Create a repository notification (event and method by their Quay names, config and event config as JSON text), with the action log in the same transaction. QUAY_INVALID_ARGUMENT for an unknown event or method.';

-- quay::notification_delete
CREATE  FUNCTION "notification_delete"(
	"repository_id" bigint, /* i64 */
	"notification_uuid" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'notification_delete_wrapper';

-- requires:
--   notification_delete


COMMENT ON FUNCTION notification_delete(bigint, text, text) IS
  'Delete a repository notification, with the action log in the same transaction. QUAY_NOTIFICATION_UNKNOWN.';

-- quay::notification_reset
CREATE  FUNCTION "notification_reset"(
	"repository_id" bigint, /* i64 */
	"notification_uuid" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'notification_reset_wrapper';

-- requires:
--   notification_reset


COMMENT ON FUNCTION notification_reset(bigint, text, text) IS
  'Set a repository notification''s failure count back to zero, with the action log in the same transaction. QUAY_NOTIFICATION_UNKNOWN.';

-- quay::notification_test
CREATE  FUNCTION "notification_test"(
	"repository_id" bigint, /* i64 */
	"notification_uuid" TEXT /* & str */
) RETURNS bigint /* i64 */
STRICT VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'notification_test_wrapper';

-- requires:
--   notification_test


COMMENT ON FUNCTION notification_test(bigint, text) IS
  'Queue a test delivery of a repository notification on Quay''s notification queue (notification/<namespace>/<repository>/<event>/); the worker sends it. Returns the queue item id. QUAY_NOTIFICATION_UNKNOWN.';

-- quay::organization_create
CREATE  FUNCTION "organization_create"(
	"organization_name" TEXT, /* & str */
	"creator_id" bigint, /* i64 */
	"email" TEXT, /* Option < & str > */
	"removed_tag_expiration_s" bigint, /* i64 */
	"log" TEXT /* Option < & str > */
) RETURNS TABLE (
	"organization_id" bigint,  /* i64 */
	"created" bool  /* bool */
)
VOLATILE 
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'organization_create_with_wrapper';

-- requires:
--   organization_create_with


COMMENT ON FUNCTION organization_create(text, bigint, text, bigint, text) IS
  'As organization_create(text, bigint, bigint), with the organization''s e-mail (NULL: derived from the creator''s) and the action log (JSON as quay.log_action takes) written in the same transaction when it is created (/api/v1/organization/).';

-- quay::permission_delete
CREATE  FUNCTION "permission_delete"(
	"repository_id" bigint, /* i64 */
	"user_id" bigint, /* Option < i64 > */
	"team_id" bigint, /* Option < i64 > */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'permission_delete_wrapper';

-- requires:
--   permission_delete


COMMENT ON FUNCTION permission_delete(bigint, bigint, bigint, text) IS
  'Remove a user''s or team''s permission on a live repository, with the action log in the same transaction; QUAY_PERMISSION_UNKNOWN when it has none.';

-- quay::permission_set
CREATE  FUNCTION "permission_set"(
	"repository_id" bigint, /* i64 */
	"user_id" bigint, /* Option < i64 > */
	"team_id" bigint, /* Option < i64 > */
	"role" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'permission_set_wrapper';

-- requires:
--   permission_set


COMMENT ON FUNCTION permission_set(bigint, bigint, bigint, text, text) IS
  'Give a user (person or robot) or a team of the repository''s organization a role (read, write, admin) on a live repository, replacing its previous one, with the action log (JSON as quay.log_action takes) in the same transaction. Exactly one of user_id and team_id. QUAY_REPOSITORY_UNKNOWN, QUAY_USER_UNKNOWN, QUAY_TEAM_UNKNOWN.';

-- quay::prototype_create
CREATE  FUNCTION "prototype_create"(
	"organization_id" bigint, /* i64 */
	"prototype_uuid" TEXT, /* & str */
	"activating_user_id" bigint, /* Option < i64 > */
	"delegate_user_id" bigint, /* Option < i64 > */
	"delegate_team_id" bigint, /* Option < i64 > */
	"role" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'prototype_create_wrapper';

-- requires:
--   prototype_create


COMMENT ON FUNCTION prototype_create(bigint, text, bigint, bigint, bigint, text, text) IS
  'A default permission of the organization: the delegate (exactly one of a user and a team of the organization) gets the role on every repository created later, by activating_user_id only when given; with the action log in the same transaction. QUAY_NAMESPACE_UNKNOWN, QUAY_USER_UNKNOWN, QUAY_TEAM_UNKNOWN.';

-- quay::prototype_delete
CREATE  FUNCTION "prototype_delete"(
	"organization_id" bigint, /* i64 */
	"prototype_uuid" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'prototype_delete_wrapper';

-- requires:
--   prototype_delete


COMMENT ON FUNCTION prototype_delete(bigint, text, text) IS
  'Delete a default permission, with the action log in the same transaction; QUAY_PROTOTYPE_UNKNOWN.';

-- quay::prototype_set_role
CREATE  FUNCTION "prototype_set_role"(
	"organization_id" bigint, /* i64 */
	"prototype_uuid" TEXT, /* & str */
	"role" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS TEXT /* String */
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'prototype_set_role_wrapper';

-- requires:
--   prototype_set_role


COMMENT ON FUNCTION prototype_set_role(bigint, text, text, text) IS
  'Change a default permission''s role, with the action log in the same transaction; returns the previous role. QUAY_PROTOTYPE_UNKNOWN.';

-- quay::repository_create
CREATE  FUNCTION "repository_create"(
	"namespace_id" bigint, /* i64 */
	"repository_name" TEXT, /* & str */
	"public" bool, /* bool */
	"creator_id" bigint, /* i64 */
	"description" TEXT, /* Option < & str > */
	"log" TEXT /* Option < & str > */
) RETURNS TABLE (
	"repository_id" bigint,  /* i64 */
	"created" bool  /* bool */
)
VOLATILE 
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'repository_create_with_wrapper';

-- requires:
--   repository_create_with


COMMENT ON FUNCTION repository_create(bigint, text, boolean, bigint, text, text) IS
  'As repository_create(bigint, text, boolean, bigint), with a description and the action log (JSON as quay.log_action takes; account the namespace, repository the new one) written in the same transaction when it is created (/api/v1/repository). An existing repository is returned with created = false, nothing written.';

-- quay::repository_delete
CREATE  FUNCTION "repository_delete"(
	"repository_id" bigint, /* i64 */
	"log" TEXT /* Option < & str > */
) RETURNS bigint /* i64 */
VOLATILE 
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'repository_delete_logged_wrapper';

-- requires:
--   repository_delete_logged


COMMENT ON FUNCTION repository_delete(bigint, text) IS
  'As repository_delete(bigint), with the action log (account: the namespace) in the same transaction.';

-- quay::repository_set_description
CREATE  FUNCTION "repository_set_description"(
	"repository_id" bigint, /* i64 */
	"description" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'repository_set_description_wrapper';

-- requires:
--   repository_set_description


COMMENT ON FUNCTION repository_set_description(bigint, text, text) IS
  'Set a live repository''s description and write its action log (account: its namespace) in the same transaction; QUAY_REPOSITORY_UNKNOWN otherwise.';

-- quay::repository_set_visibility
CREATE  FUNCTION "repository_set_visibility"(
	"repository_id" bigint, /* i64 */
	"public" bool, /* bool */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'repository_set_visibility_wrapper';

-- requires:
--   repository_set_visibility


COMMENT ON FUNCTION repository_set_visibility(bigint, boolean, text) IS
  'Make a live repository public or private and write its action log in the same transaction; QUAY_REPOSITORY_UNKNOWN otherwise.';

-- quay::robot_create
CREATE  FUNCTION "robot_create"(
	"owner_id" bigint, /* i64 */
	"short_name" TEXT, /* & str */
	"description" TEXT, /* & str */
	"unstructured_json" TEXT, /* & str */
	"encrypted_token" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS bigint /* i64 */
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'robot_create_wrapper';

-- requires:
--   robot_create


COMMENT ON FUNCTION robot_create(bigint, text, text, text, text, text) IS
  'Create robot owner+short_name for a person or organization: its user row, metadata (description truncated to 255), token (field-encrypted by the caller) and quayrobot login, with the action log (account: the owner) in the same transaction. QUAY_NAME_INVALID, QUAY_NAMESPACE_UNKNOWN, QUAY_ROBOT_EXISTS. Returns its id.';

-- quay::robot_delete
CREATE  FUNCTION "robot_delete"(
	"robot_id" bigint, /* i64 */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'robot_delete_wrapper';

-- requires:
--   robot_delete


COMMENT ON FUNCTION robot_delete(bigint, text) IS
  'Delete a robot and every row naming it (permissions, team memberships, default permissions, stars, notifications, token, metadata, login), with the action log in the same transaction; QUAY_ROBOT_UNKNOWN.';

-- quay::robot_set_token
CREATE  FUNCTION "robot_set_token"(
	"robot_id" bigint, /* i64 */
	"encrypted_token" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'robot_set_token_wrapper';

-- requires:
--   robot_set_token


COMMENT ON FUNCTION robot_set_token(bigint, text, text) IS
  'Replace a robot''s (field-encrypted) token and e-mail uuid, with the action log in the same transaction; QUAY_ROBOT_UNKNOWN.';

-- quay::tag_delete
CREATE  FUNCTION "tag_delete"(
	"repository_id" bigint, /* i64 */
	"tag_name" TEXT, /* & str */
	"log" TEXT /* Option < & str > */
) RETURNS void
VOLATILE 
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'tag_delete_logged_wrapper';

-- requires:
--   tag_delete_logged


COMMENT ON FUNCTION tag_delete(bigint, text, text) IS
  'As tag_delete(bigint, text), with the action log in the same transaction; QUAY_TAG_UNKNOWN when no alive tag has the name.';

-- quay::tag_point
CREATE  FUNCTION "tag_point"(
	"repository_id" bigint, /* i64 */
	"tag_name" TEXT, /* & str */
	"manifest_digest" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS TEXT /* Option < String > */
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'tag_point_wrapper';

-- requires:
--   tag_point


COMMENT ON FUNCTION tag_point(bigint, text, text, text) IS
  'Point a tag at the repository''s manifest of that digest (create or move, as quay.tag_set), with the action log (original_manifest_digest added) in the same transaction. Returns the digest it pointed at before. QUAY_MANIFEST_UNKNOWN, QUAY_TAG_NAME_INVALID, QUAY_TAG_IMMUTABLE.';

-- quay::tag_restore
CREATE  FUNCTION "tag_restore"(
	"repository_id" bigint, /* i64 */
	"tag_name" TEXT, /* & str */
	"manifest_digest" TEXT, /* & str */
	"log" TEXT /* Option < & str > */
) RETURNS bigint /* i64 */
VOLATILE 
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'tag_restore_logged_wrapper';

-- requires:
--   tag_restore_logged


COMMENT ON FUNCTION tag_restore(bigint, text, text, text) IS
  'As tag_restore(bigint, text, text), with the action log in the same transaction.';

-- quay::tag_set_expiration
CREATE  FUNCTION "tag_set_expiration"(
	"repository_id" bigint, /* i64 */
	"tag_name" TEXT, /* & str */
	"expires_at_ms" bigint, /* Option < i64 > */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS bigint /* Option < i64 > */
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'tag_set_expiration_wrapper';

-- requires:
--   tag_set_expiration


COMMENT ON FUNCTION tag_set_expiration(bigint, text, bigint, text) IS
  'Change when the alive tag expires, in place (no new generation): a future epoch-ms time, or NULL for never; the action log gets the old end as old_expiration_date, in the same transaction. Returns the old end. QUAY_TAG_UNKNOWN, QUAY_INVALID_ARGUMENT (not in the future), QUAY_REPOSITORY_NOT_WRITABLE.';

-- quay::team_delete
CREATE  FUNCTION "team_delete"(
	"team_id" bigint, /* i64 */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'team_delete_wrapper';

-- requires:
--   team_delete


COMMENT ON FUNCTION team_delete(bigint, text) IS
  'Delete a team with its memberships, repository permissions, default permissions and invitations, logging org_delete_team in the same transaction. QUAY_TEAM_UNKNOWN.';

-- quay::team_member_add
CREATE  FUNCTION "team_member_add"(
	"team_id" bigint, /* i64 */
	"user_id" bigint, /* i64 */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS bool /* bool */
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'team_member_add_wrapper';

-- requires:
--   team_member_add


COMMENT ON FUNCTION team_member_add(bigint, bigint, text) IS
  'Add a person (or a robot of the team''s organization) to a team, logging org_add_team_member (derived from log) in the same transaction. QUAY_TEAM_UNKNOWN, QUAY_USER_UNKNOWN. Returns whether it was added now (false: already a member).';

-- quay::team_member_remove
CREATE  FUNCTION "team_member_remove"(
	"team_id" bigint, /* i64 */
	"user_id" bigint, /* i64 */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'team_member_remove_wrapper';

-- requires:
--   team_member_remove


COMMENT ON FUNCTION team_member_remove(bigint, bigint, text) IS
  'Remove a member from a team, logging org_remove_team_member (derived from log) in the same transaction. QUAY_TEAM_UNKNOWN, QUAY_USER_UNKNOWN (not a member).';

-- quay::team_set
CREATE  FUNCTION "team_set"(
	"organization_id" bigint, /* i64 */
	"team_name" TEXT, /* & str */
	"role" TEXT, /* & str */
	"description" TEXT DEFAULT NULL, /* Option < & str > */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS TABLE (
	"team_id" bigint,  /* i64 */
	"created" bool  /* bool */
)
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'team_set_wrapper';

-- requires:
--   team_set


COMMENT ON FUNCTION team_set(bigint, text, text, text, text) IS
  'Create team team_name in the organization with that team role (member, creator, admin) and description (NULL: kept, or empty for a new team), or set them on the existing team; the action logs (org_create_team, org_set_team_role, org_set_team_description) derived from log (JSON as quay.log_action takes) in the same transaction. QUAY_TEAM_NAME_INVALID, QUAY_NAMESPACE_UNKNOWN. Returns the team id and whether it was created.';

-- quay::user_create
CREATE  FUNCTION "user_create"(
	"username" TEXT, /* & str */
	"email" TEXT, /* & str */
	"password_hash" TEXT, /* Option < & str > */
	"removed_tag_expiration_s" bigint DEFAULT 1209600, /* i64 */
	"verified" bool DEFAULT true, /* bool */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS bigint /* i64 */
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'user_create_wrapper';

-- requires:
--   user_create


COMMENT ON FUNCTION user_create(text, text, text, bigint, boolean, text) IS
  'Create a person (password_hash: bcrypt, or NULL for none) and, in the same transaction, its action log (log: JSON as quay.log_action takes, account defaulting to the new user). Refuses invalid names, names any namespace has (QUAY_NAMESPACE_EXISTS) and e-mails another person uses (QUAY_EMAIL_TAKEN). Returns the new id.';

-- quay::user_initialize
CREATE  FUNCTION "user_initialize"(
	"username" TEXT, /* & str */
	"email" TEXT, /* & str */
	"password_hash" TEXT, /* & str */
	"removed_tag_expiration_s" bigint, /* i64 */
	"token_name" TEXT, /* Option < & str > */
	"token_code_hash" TEXT, /* Option < & str > */
	"scope" TEXT, /* Option < & str > */
	"lifetime_s" bigint DEFAULT 315360000 /* i64 */
) RETURNS TABLE (
	"user_id" bigint,  /* i64 */
	"token_id" bigint  /* Option < i64 > */
)
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'user_initialize_wrapper';

-- requires:
--   user_initialize


COMMENT ON FUNCTION user_initialize(text, text, text, bigint, text, text, text, bigint) IS
  'The first user of an empty database (QUAY_DATABASE_NOT_EMPTY otherwise), verified; with token_name and token_code_hash also its automation OAuth application and an access token with that scope, valid lifetime_s seconds. One transaction. Returns the user id and the token row id.';

-- quay::user_set_password
CREATE  FUNCTION "user_set_password"(
	"user_id" bigint, /* i64 */
	"password_hash" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'user_set_password_wrapper';

-- requires:
--   user_set_password


COMMENT ON FUNCTION user_set_password(bigint, text, text) IS
  'Set a person''s bcrypt password hash and write its action log in the same transaction; QUAY_USER_UNKNOWN when no person has that id.';

