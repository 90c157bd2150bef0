-- quay 0.6.0 -> 0.7.0 (ALTER EXTENSION quay UPDATE): quay.repository_set_state
-- (PUT /api/v1/repository/<ns>/<repo>/changestate) and quay.repository_action_counts_run (the
-- daily repository action counts `popularity` sums). Tag writes now check the repository's state
-- under its tag lock, which the state change also takes; that is library code, no SQL object.

-- quay::repository_action_counts_run
CREATE  FUNCTION "repository_action_counts_run"() RETURNS bigint /* i64 */
STRICT VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'repository_action_counts_run_wrapper';

-- requires:
--   repository_action_counts_run


COMMENT ON FUNCTION repository_action_counts_run() IS
  'Quay''s repository action counter: count each live repository''s log entries of yesterday (UTC) into repositoryactioncount, keeping counts already there; returns the repositories counted.';

-- quay::repository_set_state
CREATE  FUNCTION "repository_set_state"(
	"repository_id" bigint, /* i64 */
	"state" bigint, /* i64 */
	"log" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS void
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'repository_set_state_wrapper';

-- requires:
--   repository_set_state


COMMENT ON FUNCTION repository_set_state(bigint, bigint, text) IS
  'Set a live repository''s state (0 NORMAL, 1 READ_ONLY, 2 MIRROR) under its tag lock, so no tag write commits after a change that refuses it, and write its action log in the same transaction.';

