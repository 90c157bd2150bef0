-- quay 0.1.0 -> 0.2.0 (ALTER EXTENSION quay UPDATE): manifest rules in the database.
-- Written by hand; tests/tests/sql/extension_upgrade.rs checks that a 0.1.0 database updated with
-- it has exactly the functions, signatures and comments of a fresh 0.2.0 install.
\echo Use "ALTER EXTENSION quay UPDATE TO '0.2.0'" to load this file. \quit

-- New: a push from the manifest's bytes (the legacy 12-argument form stays, unchanged).
CREATE FUNCTION "manifest_put"(
	"repository_id" bigint,
	"media_type" TEXT,
	"manifest_bytes" TEXT,
	"temp_tag_expiration_s" INT DEFAULT NULL,
	"expected_digest" TEXT DEFAULT NULL,
	"tag_names" TEXT[] DEFAULT NULL
) RETURNS TABLE (
	"manifest_id" bigint,
	"digest" TEXT,
	"subject" TEXT
)
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c
AS 'MODULE_PATHNAME', 'manifest_put_document_wrapper';

COMMENT ON FUNCTION manifest_put(bigint, text, text, text, text, text[], text[], text, text, text, bigint, integer) IS
  'Legacy form (0.1.0): record a manifest from facts its caller parsed, taken as given (the bytes are not checked; pushes use manifest_put(repository_id, media_type, manifest_bytes, ...)). Creates it in a repository (idempotent per digest) with its manifestblob, manifestchild and security-status rows; refuses blobs not linked to the repository and children not in it. Referrers (subject) get a non-expiring hidden tag; temp_tag_expiration_s adds a hidden $temp- tag. Returns the manifest id.';
COMMENT ON FUNCTION manifest_put(bigint, text, text, integer, text, text[]) IS
  'Push a manifest from its bytes: computes the digest (sha256, or the algorithm of expected_digest, which must match), validates the document against media_type (a Content-Type; NULL lets the document decide), derives config, layers, children, subject and artifact type, refuses blobs the repository cannot use and children not in it, records the manifest (idempotent per digest) with its manifestblob, manifestchild and security-status rows and points each of tag_names at it. Referrers get a non-expiring hidden tag, temp_tag_expiration_s an expiring one. Refusals: SQLSTATE 22023, DETAIL QUAY_MANIFEST_INVALID, QUAY_MEDIA_TYPE_UNSUPPORTED, QUAY_MEDIA_TYPE_MISMATCH, QUAY_DIGEST_INVALID, QUAY_BLOB_UNKNOWN, QUAY_MANIFEST_UNKNOWN, QUAY_TAG_NAME_INVALID, QUAY_TAG_IMMUTABLE, QUAY_REPOSITORY_UNKNOWN; nothing is written. Returns the manifest id, digest and subject.';

-- New: the catalog paged in the database.
CREATE FUNCTION "visible_repository_names"(
	"user_id" bigint,
	"after" TEXT DEFAULT '',
	"max_rows" INT DEFAULT 100
) RETURNS TABLE (
	"repository_id" bigint,
	"full_name" TEXT
)
STABLE
SET search_path TO public, pg_catalog
LANGUAGE c
AS 'MODULE_PATHNAME', 'visible_repository_names_wrapper';

COMMENT ON FUNCTION visible_repository_names(bigint, text, integer) IS
  'A page of the catalog: repositories a user (NULL = anonymous) can read, by full name (namespace/name) in byte order, at most max_rows after after.';
COMMENT ON FUNCTION manifest_delete(bigint, text) IS
  'Delete a manifest for every reader: end every alive tag on it (hidden and temporary ones too) in one transaction. Returns how many tags it ended. Errors: QUAY_MANIFEST_UNKNOWN, QUAY_TAG_IMMUTABLE, QUAY_REPOSITORY_NOT_WRITABLE.';

-- New: what a push creates (namespace and repository) in one transaction.
CREATE FUNCTION "repository_create_on_push"(
	"namespace_name" TEXT,
	"repository_name" TEXT,
	"public" bool,
	"creator_id" bigint,
	"namespace_expiration_s" bigint DEFAULT NULL
) RETURNS TABLE (
	"repository_id" bigint,
	"namespace_created" bool,
	"repository_created" bool
)
VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c
AS 'MODULE_PATHNAME', 'repository_create_on_push_wrapper';

COMMENT ON FUNCTION repository_create_on_push(text, text, boolean, bigint, bigint) IS
  'What a push creates, in one transaction: the repository namespace/name (private unless public), and first its namespace as an organization owned by the creator when it is missing and namespace_expiration_s is given. A refusal (QUAY_PERMISSION_DENIED, QUAY_NAME_INVALID, QUAY_NAMESPACE_UNKNOWN, QUAY_NAMESPACE_EXISTS, QUAY_NAMESPACE_DISABLED) creates nothing. Returns the repository id and what was created now.';

-- New: a mount's source in one query.
CREATE FUNCTION "readable_repository_with_blob"(
	"user_id" bigint,
	"blob_digest" TEXT
) RETURNS bigint
STABLE
SET search_path TO public, pg_catalog
LANGUAGE c
AS 'MODULE_PATHNAME', 'readable_repository_with_blob_wrapper';

COMMENT ON FUNCTION readable_repository_with_blob(bigint, text) IS
  'Where a mount without a source takes a blob from: the first repository (by id) the user (NULL = anonymous) can read that uses the blob or holds an unexpired upload link to it; NULL when none.';
