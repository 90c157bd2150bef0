-- quay 0.4.0 -> 0.5.0 (ALTER EXTENSION quay UPDATE): quay.organization_update (PUT
-- /api/v1/organization/<org>, each change logged), quay.organization_member_remove (a person
-- leaves every team and direct permission of an organization), and a quay.repository_create
-- overload with a trailing `superuser boolean` (a full-access superuser may create in any
-- namespace), quay.log_actions (a batch of action logs in one transaction), quay.queue_complete_and_claim
-- (a worker's batch completed and the next claimed in one transaction), and quay.manifest_push
-- (a push with its repo_push notifications queued in the same transaction); views
-- quay.queue_running, quay.queue_failed, quay.notification_failing (worker state);
-- quay.notification_expiry_scan (repo_image_expiry announcements). Nothing existing
-- changes. Generated with extension/pg/tools/upgrade_diff.py from
-- `cargo pgrx schema`; tests/tests/sql/extension_upgrade.rs checks that updated databases match a
-- fresh install.
\echo Use "ALTER EXTENSION quay UPDATE TO '0.5.0'" to load this file. \quit

CREATE VIEW queue_running AS
SELECT q.id, split_part(q.queue_name, '/', 1) AS queue, q.queue_name, q.state_id,
       q.processing_expires AS lease_expires,
       q.processing_expires - (now() AT TIME ZONE 'UTC') AS lease_left,
       q.retries_remaining
  FROM public.queueitem q
 WHERE NOT q.available AND q.processing_expires > (now() AT TIME ZONE 'UTC');

CREATE VIEW queue_failed AS
SELECT q.id, split_part(q.queue_name, '/', 1) AS queue, q.queue_name, q.body, q.available_after,
       q.processing_expires AS last_lease_expired
  FROM public.queueitem q
 WHERE q.retries_remaining <= 0
   AND (q.available OR q.processing_expires <= (now() AT TIME ZONE 'UTC'));

CREATE VIEW notification_failing AS
SELECT ns.username AS namespace, r.name AS repository, n.uuid, n.title, e.name AS event,
       m.name AS method, n.number_of_failures AS failures, n.number_of_failures >= 3 AS disabled,
       (SELECT count(*) FROM public.queueitem q
         WHERE q.queue_name LIKE 'notification/%' AND q.body LIKE '%' || n.uuid || '%') AS queued
  FROM public.repositorynotification n
  JOIN public.repository r ON r.id = n.repository_id
  JOIN public."user" ns ON ns.id = r.namespace_user_id
  JOIN public.externalnotificationevent e ON e.id = n.event_id
  JOIN public.externalnotificationmethod m ON m.id = n.method_id
 WHERE n.number_of_failures > 0;

COMMENT ON VIEW queue_running IS 'Items being worked on: queue, name, the claim''s state_id, when the lease expires and how long is left, retries left.';
COMMENT ON VIEW queue_failed IS 'Items that will not run again: no retries left and not running (Quay leaves them in queueitem).';
COMMENT ON VIEW notification_failing IS 'Repository notifications whose last deliveries failed: failures, disabled (3 or more: not sent until reset), deliveries still queued.';

-- quay::_queue_complete_and_claim_ids
CREATE  FUNCTION "_queue_complete_and_claim_ids"(
	"done" bigint[], /* Vec < i64 > */
	"queue_prefix" TEXT, /* & str */
	"processing_s" INT, /* i32 */
	"max_items" INT /* i32 */
) RETURNS SETOF bigint /* i64 */
STRICT VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_queue_complete_and_claim_ids_wrapper';

-- requires:
--   _queue_complete_and_claim_ids


COMMENT ON FUNCTION _queue_complete_and_claim_ids(bigint[], text, integer, integer) IS 'Internal: complete, claim, return the claimed ids (use queue_complete_and_claim).';

CREATE FUNCTION queue_complete_and_claim(done bigint[], queue_prefix text, processing_s integer DEFAULT 300,
                                         max_items integer DEFAULT 1)
RETURNS SETOF public.queueitem
LANGUAGE plpgsql VOLATILE
SET search_path = public, pg_catalog
AS $body$
DECLARE
  claimed bigint[];
BEGIN
  claimed := ARRAY(SELECT quay._queue_complete_and_claim_ids(done, queue_prefix, processing_s, max_items));
  RETURN QUERY SELECT * FROM public.queueitem WHERE id = ANY(claimed) ORDER BY id;
END
$body$;

COMMENT ON FUNCTION queue_complete_and_claim(bigint[], text, integer, integer) IS
  'Finish the jobs done (their items go away) and claim up to max_items (1..256) more whose names start with queue_prefix, each leased for processing_s seconds, in one transaction: a worker''s loop is one commit per batch. Unordered queues only; SKIP LOCKED, never double-claims. With max_items 0 it only completes.';

-- quay::log_actions
CREATE  FUNCTION "log_actions"(
	"logs" TEXT /* & str */
) RETURNS void
STRICT VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'log_actions_wrapper';

-- requires:
--   log_actions


COMMENT ON FUNCTION log_actions(text) IS
  'Write a batch of action log rows in one transaction: a JSON array of what quay.log_action takes; all or none (the server batches pull_repo and push_repo this way).';

-- quay::manifest_push
CREATE  FUNCTION "manifest_push"(
	"repository_id" bigint, /* i64 */
	"media_type" TEXT, /* Option < & str > */
	"manifest_bytes" TEXT, /* & str */
	"temp_tag_expiration_s" INT, /* Option < i32 > */
	"expected_digest" TEXT, /* Option < & str > */
	"tag_names" TEXT[], /* :: std :: option :: Option < Vec < Option < String > > > */
	"event_context" TEXT /* & str */
) RETURNS TABLE (
	"manifest_id" bigint,  /* i64 */
	"digest" TEXT,  /* String */
	"subject" TEXT  /* Option < String > */
)
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'manifest_push_wrapper';

-- requires:
--   manifest_push


COMMENT ON FUNCTION manifest_push(bigint, text, text, integer, text, text[], text) IS
  'A push as manifest_put(bigint, text, text, integer, text, text[]) does, and when tags moved, queues the repository''s repo_push notifications in the same transaction (queue notification/<ns>/<repo>/repo_push/, Quay''s body with event_data and performer_data). event_context is JSON {server_hostname, scheme, performer}: what the payload needs that the database does not hold.';

-- quay::notification_expiry_scan
CREATE  FUNCTION "notification_expiry_scan"(
	"event_context" TEXT /* & str */
) RETURNS bigint /* i64 */
STRICT VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'notification_expiry_scan_wrapper';

-- requires:
--   notification_expiry_scan


COMMENT ON FUNCTION notification_expiry_scan(text) IS
  'One pass of the repo_image_expiry notifications (FEATURE_IMAGE_EXPIRY_TRIGGER): up to 10 notifications not scanned for 5 hours (SKIP LOCKED) are marked scanned; for each, the alive visible tags expiring within its eventConfig days that it has not announced are recorded in tagnotificationsuccess and one delivery is queued (event_data tags, expiring_in). event_context as quay.manifest_push takes. Returns the deliveries queued.';

-- quay::organization_member_remove
CREATE  FUNCTION "organization_member_remove"(
	"organization_id" bigint, /* i64 */
	"user_id" bigint /* i64 */
) RETURNS void
STRICT VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'organization_member_remove_wrapper';

-- requires:
--   organization_member_remove


COMMENT ON FUNCTION organization_member_remove(bigint, bigint) IS
  'Remove a person from an organization: every team membership in it and every direct permission on its repositories, in one transaction (DELETE /api/v1/organization/<org>/members/<member>). The only admin is refused with QUAY_NAMESPACE_LAST_ADMIN; a non-member changes nothing.';

-- quay::organization_update
CREATE  FUNCTION "organization_update"(
	"organization_id" bigint, /* i64 */
	"changes" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'organization_update_wrapper';

-- requires:
--   organization_update


COMMENT ON FUNCTION organization_update(bigint, text, text) IS
  'Change an organization (PUT /api/v1/organization/<org>): changes is JSON with any of email, invoice_email (boolean), invoice_email_address, tag_expiration_s; one transaction, each change logged as Quay does (org_change_email, org_change_invoicing, org_change_tag_expiration, derived from log). QUAY_NAMESPACE_UNKNOWN, QUAY_EMAIL_TAKEN, QUAY_INVALID_ARGUMENT.';

-- quay::repository_create
CREATE  FUNCTION "repository_create"(
	"namespace_id" bigint, /* i64 */
	"repository_name" TEXT, /* & str */
	"public" bool, /* bool */
	"creator_id" bigint, /* i64 */
	"description" TEXT, /* Option < & str > */
	"log" TEXT, /* Option < & str > */
	"superuser" bool /* bool */
) RETURNS TABLE (
	"repository_id" bigint,  /* i64 */
	"created" bool  /* bool */
)
VOLATILE 
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'repository_create_by_wrapper';

-- requires:
--   repository_create_by


COMMENT ON FUNCTION repository_create(bigint, text, boolean, bigint, text, text, boolean) IS
  'As repository_create(bigint, text, boolean, bigint, text, text); superuser = true: the caller vouches that the creator is a superuser with FEATURE_SUPERUSERS_FULL_ACCESS (configuration, not in the database), who may create in any namespace (the creator still becomes its admin).';

