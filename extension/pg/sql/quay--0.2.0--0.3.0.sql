-- quay 0.2.0 -> 0.3.0 (ALTER EXTENSION quay UPDATE): one-call reads for the registry, so a
-- pull is one round trip: quay.repository_access, quay.manifest_read, quay.blob_read; and
-- quay.upload_finish (an upload's end and its blob's link in one transaction). Nothing
-- existing changes. Written by hand from `cargo pgrx schema`; tests/tests/sql/extension_upgrade.rs
-- checks that 0.1.0 and 0.2.0 databases updated with it match a fresh install.
\echo Use "ALTER EXTENSION quay UPDATE TO '0.3.0'" to load this file. \quit

-- quay::blob_read
CREATE  FUNCTION "blob_read"(
	"namespace_name" TEXT, /* & str */
	"repository_name" TEXT, /* & str */
	"user_id" bigint, /* Option < i64 > */
	"blob_digest" TEXT /* Option < & str > */
) RETURNS TABLE (
	"repository_id" bigint,  /* i64 */
	"namespace_id" bigint,  /* i64 */
	"public" bool,  /* bool */
	"is_image" bool,  /* bool */
	"state" bigint,  /* i64 */
	"namespace_enabled" bool,  /* bool */
	"role" TEXT,  /* Option < String > */
	"storage_id" bigint,  /* Option < i64 > */
	"size_bytes" bigint  /* Option < i64 > */
)
STABLE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'blob_read_wrapper';

-- quay::manifest_read
CREATE  FUNCTION "manifest_read"(
	"namespace_name" TEXT, /* & str */
	"repository_name" TEXT, /* & str */
	"user_id" bigint, /* Option < i64 > */
	"reference" TEXT /* Option < & str > */
) RETURNS TABLE (
	"repository_id" bigint,  /* i64 */
	"namespace_id" bigint,  /* i64 */
	"public" bool,  /* bool */
	"is_image" bool,  /* bool */
	"state" bigint,  /* i64 */
	"namespace_enabled" bool,  /* bool */
	"role" TEXT,  /* Option < String > */
	"manifest_id" bigint,  /* Option < i64 > */
	"digest" TEXT,  /* Option < String > */
	"media_type" TEXT,  /* Option < String > */
	"manifest_bytes" TEXT  /* Option < String > */
)
STABLE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'manifest_read_wrapper';

-- quay::repository_access
CREATE  FUNCTION "repository_access"(
	"namespace_name" TEXT, /* & str */
	"repository_name" TEXT, /* & str */
	"user_id" bigint /* Option < i64 > */
) RETURNS TABLE (
	"repository_id" bigint,  /* i64 */
	"namespace_id" bigint,  /* i64 */
	"public" bool,  /* bool */
	"is_image" bool,  /* bool */
	"state" bigint,  /* i64 */
	"namespace_enabled" bool,  /* bool */
	"role" TEXT  /* Option < String > */
)
STABLE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'repository_access_wrapper';

-- quay::upload_finish
CREATE  FUNCTION "upload_finish"(
	"upload_id" bigint, /* i64 */
	"repository_id" bigint, /* i64 */
	"byte_count" bigint, /* i64 */
	"chunk_count" bigint, /* i64 */
	"digest" TEXT, /* & str */
	"size_bytes" bigint, /* i64 */
	"location" TEXT, /* & str */
	"link_expiration_s" INT DEFAULT 3600 /* i32 */
) RETURNS bigint /* i64 */
STRICT VOLATILE
SET search_path TO public, pg_catalog
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'upload_finish_wrapper';

COMMENT ON FUNCTION repository_access(text, text, bigint) IS
  'The live repository namespace/name (any kind, state or namespace state) and the role (admin, write, read, NULL) a user (NULL = anonymous) has on it, as quay.repository_role: what a registry request decides on, in one call. No row when there is no such repository.';
COMMENT ON FUNCTION manifest_read(text, text, bigint, text) IS
  'A manifest pull in one call: the columns of quay.repository_access and the manifest a tag or digest names if something keeps it alive (an alive tag on it or on an index listing it; by tag, the alive visible tag), else NULLs. The caller serves it only if the role allows.';
COMMENT ON FUNCTION blob_read(text, text, bigint, text) IS
  'A blob pull in one call: the columns of quay.repository_access and the blob if the repository may use it (linked, in one of its manifests, or the shared empty layer), else NULLs. The caller serves it only if the role allows.';
COMMENT ON FUNCTION upload_finish(bigint, bigint, bigint, bigint, text, bigint, text, integer) IS
  'Finish an upload session in one transaction: delete its blobupload row only if it still has byte_count bytes in chunk_count pieces (else QUAY_UPLOAD_CHANGED, nothing done), then record and link the verified blob as quay.blob_commit. Returns the imagestorage id.';
-- 0.1.0 and 0.2.0 commented pg_catalog.version() (unqualified) instead of quay.version().
COMMENT ON FUNCTION quay.version() IS 'Version of the quay extension installed in this database.';
COMMENT ON FUNCTION pg_catalog.version() IS 'PostgreSQL version string';
