-- quay 0.5.0 -> 0.6.0 (ALTER EXTENSION quay UPDATE): storage quotas (quay.quota_create, quota_update,
-- quota_delete, quota_limit_create, quota_limit_update, quota_limit_delete, quota_check,
-- quota_notify_rejected; view quay.quota_usage), auto-prune policies (quay.autoprune_policy_create,
-- autoprune_policy_update, autoprune_policy_delete, autoprune_repository, autoprune_run_due) and
-- the workers' periodic jobs (table quay.periodic_job_run, quay.periodic_job_ran, view
-- quay.periodic_jobs), quay.user_update (PUT /api/v1/user/), quay.organization_rename, quay.oauth_application_*. The quota totals and the prune queued after a push are kept by the
-- library's manifest_put / manifest_push and GC, which need no new SQL objects.

CREATE TABLE periodic_job_run (
  job text PRIMARY KEY,
  last_started timestamp NOT NULL,
  last_finished timestamp NOT NULL,
  last_status text NOT NULL,
  last_duration_ms bigint NOT NULL,
  runs bigint NOT NULL DEFAULT 1,
  failures bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE periodic_job_run IS 'The last run of each periodic job of the workers (one row per job, written by quay.periodic_job_ran).';

CREATE FUNCTION periodic_job_ran(job text, status text, duration_ms bigint) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = quay, pg_catalog
AS $body$
  INSERT INTO quay.periodic_job_run AS p (job, last_started, last_finished, last_status, last_duration_ms, runs, failures)
  VALUES ($1, (now() AT TIME ZONE 'UTC') - make_interval(secs => $3 / 1000.0), now() AT TIME ZONE 'UTC', $2, $3,
          1, CASE WHEN $2 = 'ok' THEN 0 ELSE 1 END)
  ON CONFLICT (job) DO UPDATE
     SET last_started = EXCLUDED.last_started, last_finished = EXCLUDED.last_finished,
         last_status = EXCLUDED.last_status, last_duration_ms = EXCLUDED.last_duration_ms,
         runs = p.runs + 1, failures = p.failures + EXCLUDED.failures;
$body$;
COMMENT ON FUNCTION periodic_job_ran(text, text, bigint) IS
  'Record that a worker finished a periodic job (status ok, or what failed) that took duration_ms.';

CREATE VIEW periodic_jobs AS
SELECT job, last_finished, (now() AT TIME ZONE 'UTC') - last_finished AS since, last_status, last_duration_ms, runs, failures
  FROM periodic_job_run;
COMMENT ON VIEW periodic_jobs IS 'Each periodic job of the workers: when it last finished, how long ago, its status and duration, runs and failures.';

-- quay::autoprune_policy_create
CREATE  FUNCTION "autoprune_policy_create"(
	"namespace_id" bigint, /* i64 */
	"repository_id" bigint, /* Option < i64 > */
	"policy_uuid" TEXT, /* & str */
	"policy" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'autoprune_policy_create_wrapper';

-- quay::autoprune_policy_delete
CREATE  FUNCTION "autoprune_policy_delete"(
	"namespace_id" bigint, /* i64 */
	"repository_id" bigint, /* Option < i64 > */
	"policy_uuid" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'autoprune_policy_delete_wrapper';

-- quay::autoprune_policy_update
CREATE  FUNCTION "autoprune_policy_update"(
	"namespace_id" bigint, /* i64 */
	"repository_id" bigint, /* Option < i64 > */
	"policy_uuid" TEXT, /* & str */
	"policy" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'autoprune_policy_update_wrapper';

-- quay::autoprune_repository
CREATE  FUNCTION "autoprune_repository"(
	"repository_id" bigint /* i64 */
) RETURNS SETOF TEXT /* String */
STRICT VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'autoprune_repository_wrapper';

-- quay::autoprune_run_due
CREATE  FUNCTION "autoprune_run_due"(
	"max_namespaces" INT DEFAULT 10, /* i32 */
	"interval_ms" bigint DEFAULT 3600000 /* i64 */
) RETURNS bigint /* i64 */
STRICT VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'autoprune_run_due_wrapper';

-- requires:
--   autoprune_policy_create
--   autoprune_policy_update
--   autoprune_policy_delete
--   autoprune_repository
--   autoprune_run_due


COMMENT ON FUNCTION autoprune_policy_create(bigint, bigint, text, text, text) IS
  'Add an auto-prune policy to a namespace (repository_id NULL) or a repository: policy is its config JSON (method number_of_tags with an integer value, or creation_date with a duration such as 7d; optional tag_pattern and tag_pattern_matches), stored as Quay stores it; an exact duplicate is refused. Queues the namespace''s task; the action log in the same transaction.';
COMMENT ON FUNCTION autoprune_policy_update(bigint, bigint, text, text, text) IS
  'Replace an auto-prune policy''s config. QUAY_POLICY_UNKNOWN for a uuid not in that namespace or repository.';
COMMENT ON FUNCTION autoprune_policy_delete(bigint, bigint, text, text) IS
  'Delete an auto-prune policy.';
COMMENT ON FUNCTION autoprune_repository(bigint) IS
  'Apply the namespace''s and the repository''s auto-prune policies now (creation_date first, then number_of_tags) under the repository''s tag lock: ends each pruned tag as a delete does (recoverable in the time machine; immutable tags kept) and logs autoprune_tag_delete. Returns the tags pruned.';
COMMENT ON FUNCTION autoprune_run_due(integer, bigint) IS
  'One slow-timer pass: up to max_namespaces namespaces whose autoprunetaskstatus last ran more than interval_ms ago (SKIP LOCKED) are pruned repository by repository and marked run (success or failure: ...). Returns the tags pruned.';

-- quay::oauth_application_create
CREATE  FUNCTION "oauth_application_create"(
	"organization_id" bigint, /* i64 */
	"client_id" TEXT, /* & str */
	"encrypted_secret" TEXT, /* & str */
	"fields" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS bigint /* i64 */
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'oauth_application_create_wrapper';

-- quay::oauth_application_delete
CREATE  FUNCTION "oauth_application_delete"(
	"organization_id" bigint, /* i64 */
	"client_id" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'oauth_application_delete_wrapper';

-- quay::oauth_application_set_secret
CREATE  FUNCTION "oauth_application_set_secret"(
	"organization_id" bigint, /* i64 */
	"client_id" TEXT, /* & str */
	"encrypted_secret" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'oauth_application_set_secret_wrapper';

-- quay::oauth_application_update
CREATE  FUNCTION "oauth_application_update"(
	"organization_id" bigint, /* i64 */
	"client_id" TEXT, /* & str */
	"fields" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'oauth_application_update_wrapper';

-- requires:
--   oauth_application_create
--   oauth_application_update
--   oauth_application_set_secret
--   oauth_application_delete


COMMENT ON FUNCTION oauth_application_create(bigint, text, text, text, text) IS
  'Register an OAuth application of an organization: client id and field-encrypted secret made by the caller, fields JSON (name required; redirect_uri, application_uri, description, avatar_email), with the action log. Returns its id.';
COMMENT ON FUNCTION oauth_application_update(bigint, text, text, text) IS
  'Change an OAuth application''s name, URIs, description and avatar e-mail. QUAY_APPLICATION_UNKNOWN for a client id not of the organization.';
COMMENT ON FUNCTION oauth_application_set_secret(bigint, text, text, text) IS
  'Give an OAuth application a new (field-encrypted) client secret.';
COMMENT ON FUNCTION oauth_application_delete(bigint, text, text) IS
  'Delete an OAuth application with its access tokens and authorization codes, in one transaction.';

-- quay::organization_rename
CREATE  FUNCTION "organization_rename"(
	"organization_id" bigint, /* i64 */
	"new_name" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'organization_rename_wrapper';

-- requires:
--   organization_rename


COMMENT ON FUNCTION organization_rename(bigint, text, text) IS
  'Rename an organization (a superuser''s PUT /api/v1/superuser/organizations/<name>): the new name must be valid and free (QUAY_NAME_INVALID, QUAY_NAMESPACE_EXISTS); its robots follow (old+bot becomes new+bot); with the action log (org_change_name), in one transaction.';

-- quay::quota_check
CREATE  FUNCTION "quota_check"(
	"repository_id" bigint /* i64 */
) RETURNS TEXT /* Option < String > */
STRICT STABLE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'quota_check_wrapper';

-- quay::quota_create
CREATE  FUNCTION "quota_create"(
	"namespace_id" bigint, /* i64 */
	"limit_bytes" bigint, /* i64 */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS bigint /* i64 */
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'quota_create_wrapper';

-- quay::quota_delete
CREATE  FUNCTION "quota_delete"(
	"namespace_id" bigint, /* i64 */
	"quota_id" bigint, /* i64 */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'quota_delete_wrapper';

-- quay::quota_limit_create
CREATE  FUNCTION "quota_limit_create"(
	"namespace_id" bigint, /* i64 */
	"quota_id" bigint, /* i64 */
	"limit_type" TEXT, /* & str */
	"threshold_percent" bigint, /* i64 */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS bigint /* i64 */
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'quota_limit_create_wrapper';

-- quay::quota_limit_delete
CREATE  FUNCTION "quota_limit_delete"(
	"namespace_id" bigint, /* i64 */
	"quota_id" bigint, /* i64 */
	"limit_id" bigint, /* i64 */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'quota_limit_delete_wrapper';

-- quay::quota_limit_update
CREATE  FUNCTION "quota_limit_update"(
	"namespace_id" bigint, /* i64 */
	"quota_id" bigint, /* i64 */
	"limit_id" bigint, /* i64 */
	"limit_type" TEXT, /* & str */
	"threshold_percent" bigint, /* i64 */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'quota_limit_update_wrapper';

-- quay::quota_notify_rejected
CREATE  FUNCTION "quota_notify_rejected"(
	"repository_id" bigint, /* i64 */
	"event_context" TEXT /* & str */
) RETURNS bigint /* i64 */
STRICT VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'quota_notify_rejected_wrapper';

-- quay::quota_update
CREATE  FUNCTION "quota_update"(
	"namespace_id" bigint, /* i64 */
	"quota_id" bigint, /* i64 */
	"limit_bytes" bigint, /* i64 */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'quota_update_wrapper';

-- requires:
--   quota_create
--   quota_update
--   quota_delete
--   quota_limit_create
--   quota_limit_update
--   quota_limit_delete
--   quota_check
--   quota_notify_rejected


COMMENT ON FUNCTION quota_notify_rejected(bigint, text) IS
  'After a push into the repository was refused with QUAY_QUOTA_EXCEEDED (its transaction rolled back): queue quota_error for the repository''s notifications, at most once per 24 h while the limit stays crossed. event_context as quay.manifest_push takes. Returns the deliveries queued.';
COMMENT ON FUNCTION quota_create(bigint, bigint, text) IS
  'Give a namespace its storage quota (userorganizationquota, one per namespace) of limit_bytes (> 0), with the action log (org_create_quota) in the same transaction. Returns its id. QUAY_QUOTA_EXISTS when it has one.';
COMMENT ON FUNCTION quota_update(bigint, bigint, bigint, text) IS
  'Change the namespace quota''s limit_bytes; quota notifications start over. QUAY_QUOTA_UNKNOWN for another namespace''s quota.';
COMMENT ON FUNCTION quota_delete(bigint, bigint, text) IS
  'Delete the namespace''s quota with its limits.';
COMMENT ON FUNCTION quota_limit_create(bigint, bigint, text, bigint, text) IS
  'Add a Warning or Reject limit at threshold_percent (1..100) of the quota. A push that takes the namespace past a Reject limit is refused (QUAY_QUOTA_EXCEEDED); reaching a limit queues quota_warning / quota_error. QUAY_QUOTA_LIMIT_EXISTS for the same type and percent twice.';
COMMENT ON FUNCTION quota_limit_update(bigint, bigint, bigint, text, bigint, text) IS
  'Change a quota limit''s type and percent.';
COMMENT ON FUNCTION quota_limit_delete(bigint, bigint, bigint, text) IS
  'Delete a quota limit.';
COMMENT ON FUNCTION quota_check(bigint) IS
  'NULL, or why a new upload into the repository is refused: its namespace is at or past a Reject limit (Quay''s check before an upload starts).';

CREATE VIEW quota_usage AS
SELECT u.username AS namespace, u.organization, s.size_bytes, s.backfill_complete,
       q.limit_bytes,
       CASE WHEN q.limit_bytes > 0 THEN round(100.0 * s.size_bytes / q.limit_bytes, 2) END AS percent_used,
       (SELECT string_agg(t.name || ' ' || l.percent_of_limit || '%', ', ' ORDER BY l.percent_of_limit)
          FROM public.quotalimits l JOIN public.quotatype t ON t.id = l.quota_type_id
         WHERE l.quota_id = q.id) AS limits
  FROM public.quotanamespacesize s
  JOIN public."user" u ON u.id = s.namespace_user_id
  LEFT JOIN public.userorganizationquota q ON q.namespace_id = s.namespace_user_id;
COMMENT ON VIEW quota_usage IS 'Each namespace''s stored bytes (exact: kept in the push and GC transactions), its quota and limits, and the percent used.';

-- quay::user_update
CREATE  FUNCTION "user_update"(
	"user_id" bigint, /* i64 */
	"changes" TEXT, /* & str */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'user_update_wrapper';

-- requires:
--   user_update


COMMENT ON FUNCTION user_update(bigint, text, text) IS
  'Change a person''s own account (PUT /api/v1/user/): changes JSON with email, invoice_email, invoice_email_address, tag_expiration_s and metadata (given_name, family_name, company, location), each change logged as Quay does (user_change_*), in one transaction. QUAY_EMAIL_TAKEN when another person uses the address.';

