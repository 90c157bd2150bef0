//! docs/sql-api.md describes each SQL function of the extension once, by the signature the
//! catalog has: every function of schema `quay` (but the `_`-prefixed internals) has a
//! `### \`quay.name(arguments) RETURNS result\`` heading with exactly the catalog's text, every
//! such heading names a function that exists, and each has a `COMMENT ON FUNCTION`.

use quay_tests::TestDb;

#[tokio::test]
async fn sql_api_doc_matches_the_catalog() {
    let db = TestDb::with_extension("sqlapidoc").await.expect("db");
    let c = db.client().await.expect("c");
    let rows = c
        .query(
            "SELECT format('quay.%s(%s) RETURNS %s', p.proname, pg_get_function_arguments(p.oid),
                           pg_get_function_result(p.oid)),
                    obj_description(p.oid, 'pg_proc') IS NOT NULL
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = 'quay' AND p.proname NOT LIKE '\\_%'
              ORDER BY 1",
            &[],
        )
        .await
        .expect("catalog");
    // Defaults as people write them: `DEFAULT NULL`, not `DEFAULT NULL::text`; text literals
    // without their cast (`'api'`, not `'api'::text`).
    let plain = |sig: String| {
        ["::text[]", "::text", "::bigint", "::integer"]
            .iter()
            .fold(sig, |s, cast| s.replace(&format!("NULL{cast}"), "NULL").replace(&format!("'{cast}"), "'"))
    };
    let catalog: Vec<String> = rows.iter().map(|r| plain(r.get::<_, String>(0))).collect();
    let uncommented: Vec<String> =
        rows.iter().filter(|r| !r.get::<_, bool>(1)).map(|r| plain(r.get::<_, String>(0))).collect();
    let doc = std::fs::read_to_string(quay_tests::repo_path("docs/sql-api.md")).expect("docs/sql-api.md");
    let documented: Vec<String> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("### `quay.").and_then(|rest| rest.strip_suffix('`')))
        .map(|sig| format!("quay.{sig}"))
        .collect();
    let missing: Vec<&String> = catalog.iter().filter(|f| !documented.contains(f)).collect();
    let stale: Vec<&String> = documented.iter().filter(|f| !catalog.contains(f)).collect();
    assert!(
        missing.is_empty() && stale.is_empty() && uncommented.is_empty(),
        "docs/sql-api.md and the catalog disagree\n  in the catalog, not documented: {missing:#?}\n  documented, not in the catalog: {stale:#?}\n  without COMMENT ON FUNCTION: {uncommented:#?}"
    );
    db.drop_db().await.expect("drop");
}
