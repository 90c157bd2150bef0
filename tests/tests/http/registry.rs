//! The `/v2` registry API in-process, on both backends: every route, its error paths and status
//! codes, token auth and permissions, and that refused requests store nothing.

use super::common;

use common::{
    Backend, OCI_INDEX, OCI_MANIFEST, PASSWORD, Registry, claims, digest, error_code, image_manifest,
};
use reqwest::Method;
use serde_json::Value;

async fn status(r: &Registry, m: Method, path: &str, token: Option<&str>) -> u16 {
    r.req(m, path, token).send().await.expect("send").status().as_u16()
}

async fn auth_and_base(r: &Registry) {
    // GET /v2/: 401 + challenge without credentials, 200 with a token.
    let resp = r.req(Method::GET, "/v2/", None).send().await.expect("base");
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"].to_str().expect("hdr").to_string();
    assert_eq!(challenge, format!("Bearer realm=\"http://{0}/v2/auth\",service=\"{0}\"", r.host));
    assert_eq!(resp.headers()["docker-distribution-api-version"], "registry/2.0");

    // Login without scope: a token with no access.
    let login = r.token(Some("alice"), &[]).await;
    let c = claims(&login);
    assert_eq!(c["access"], serde_json::json!([]));
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["iss"], "quay");
    assert_eq!(c["aud"], r.host.as_str());
    assert_eq!(c["exp"].as_u64().expect("exp") - c["iat"].as_u64().expect("iat"), 3600);
    assert_eq!(c["context"]["entity_kind"], "user");
    assert_eq!(c["context"]["version"], 2);
    assert_eq!(status(r, Method::GET, "/v2/", Some(&login)).await, 200);

    // Wrong password, unknown user, garbage header, no credentials and no scope: 401.
    assert_eq!(r.auth(Some("alice"), "wrong-password", &[]).await.status(), 401);
    assert_eq!(r.auth(Some("nobody"), PASSWORD, &[]).await.status(), 401);
    assert_eq!(r.auth(None, "", &[]).await.status(), 401);
    let bad = r
        .http
        .get(format!("{}/v2/auth", r.url))
        .header("authorization", "Basic !!!")
        .send()
        .await
        .expect("bad");
    assert_eq!(bad.status(), 401);
    // The wrong password started Quay's login back-off (0.5 s): alice's next login waits.
    assert_eq!(r.auth(Some("alice"), PASSWORD, &[]).await.status(), 429);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    // A scope of another type, or a bad name: 400.
    assert_eq!(r.auth(Some("alice"), PASSWORD, &["registry:catalog:*"]).await.status(), 400);
    assert_eq!(r.auth(Some("alice"), PASSWORD, &["repository:alice/Bad:pull"]).await.status(), 400);

    // A forged or foreign token is refused with Quay's generic 401 body.
    let forged = format!("{}x", &login[..login.len() - 1]);
    let resp = r.req(Method::GET, "/v2/", Some(&forged)).send().await.expect("forged");
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.expect("json");
    assert!(body["error"].as_str().expect("error").starts_with("Invalid token"), "{body}");
    let basic = r.http.get(format!("{}/v2/alice/app/tags/list", r.url)).basic_auth("alice", Some(PASSWORD));
    assert_eq!(basic.send().await.expect("basic").status(), 401);
}

async fn push_and_pull(r: &Registry) {
    // Asking for push creates the (private) repository.
    let t = r.token(Some("alice"), &["repository:alice/app:pull,push"]).await;
    let c = claims(&t);
    assert_eq!(c["access"][0]["name"], "alice/app");
    assert_eq!(c["access"][0]["actions"], serde_json::json!(["push", "pull"]));
    let repo = r
        .store
        .repository_access("alice", "app", None)
        .await
        .expect("lookup")
        .map(|a| a.repository)
        .expect("created on push");
    assert!(!repo.public);

    // Monolithic upload.
    let layer = b"layer-one-bytes".to_vec();
    let dl = r.push_blob("alice/app", &t, &layer).await;

    // Chunked upload: two PATCHes then PUT; status, out-of-order 416.
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let dc = digest(&config);
    let resp = r.req(Method::POST, "/v2/alice/app/blobs/uploads/", Some(&t)).send().await.expect("post");
    assert_eq!(resp.status(), 202);
    let loc = resp.headers()["location"].to_str().expect("loc").to_string();
    assert!(loc.starts_with(&format!("http://{}/v2/alice/app/blobs/uploads/", r.host)), "{loc}");
    let uuid = resp.headers()["docker-upload-uuid"].to_str().expect("uuid").to_string();
    let resp = r
        .req(Method::PATCH, &loc, Some(&t))
        .header("content-range", "0-9")
        .body(config[..10].to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), 202);
    assert_eq!(resp.headers()["range"], "0-9");
    let resp = r
        .req(Method::PATCH, &loc, Some(&t))
        .header("content-range", "20-25")
        .body(vec![0u8; 6])
        .send()
        .await
        .expect("ooo");
    assert_eq!(resp.status(), 416, "out-of-order chunk");
    assert_eq!(resp.headers()["range"], "0-9");
    let bad_range = r
        .req(Method::PATCH, &loc, Some(&t))
        .header("content-range", "x-y")
        .body(vec![1u8])
        .send()
        .await
        .expect("bad");
    assert_eq!(bad_range.status(), 400);
    let st = r.req(Method::GET, &loc, Some(&t)).send().await.expect("status");
    assert_eq!(st.status(), 204);
    assert_eq!(st.headers()["range"], "0-9");
    assert_eq!(st.headers()["docker-upload-uuid"].to_str().expect("u"), uuid);
    // The running hash is in the blobupload row, in the documented format.
    let resp =
        r.req(Method::PATCH, &loc, Some(&t)).body(config[10..20].to_vec()).send().await.expect("patch2");
    assert_eq!(resp.status(), 202);
    assert_eq!(resp.headers()["range"], "0-19");
    let resp = r
        .req(Method::PUT, &format!("{loc}?digest={dc}"), Some(&t))
        .body(config[20..].to_vec())
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["docker-content-digest"].to_str().expect("d"), dc);
    assert_eq!(status(r, Method::GET, &loc, Some(&t)).await, 404, "finished upload is gone");

    // Digest mismatch: DIGEST_INVALID, nothing stored.
    let resp = r.req(Method::POST, "/v2/alice/app/blobs/uploads/", Some(&t)).send().await.expect("post");
    let loc2 = resp.headers()["location"].to_str().expect("loc").to_string();
    let wrong = digest(b"something else");
    let resp = r
        .req(Method::PUT, &format!("{loc2}?digest={wrong}"), Some(&t))
        .body("actual".to_string())
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(resp).await, "DIGEST_INVALID");
    assert_eq!(status(r, Method::HEAD, &format!("/v2/alice/app/blobs/{wrong}"), Some(&t)).await, 404);
    assert_eq!(
        status(r, Method::HEAD, &format!("/v2/alice/app/blobs/{}", digest(b"actual")), Some(&t)).await,
        404
    );
    let resp = r
        .req(Method::POST, &format!("/v2/alice/app/blobs/uploads/?digest={wrong}"), Some(&t))
        .body("xyz")
        .send()
        .await
        .expect("mono");
    assert_eq!(error_code(resp).await, "DIGEST_INVALID");
    let resp = r.req(Method::PUT, &loc2.to_string(), Some(&t)).send().await.expect("put");
    assert_eq!(resp.status(), 400, "finishing without a digest");

    // Cancel.
    let resp = r.req(Method::POST, "/v2/alice/app/blobs/uploads/", Some(&t)).send().await.expect("post");
    let loc3 = resp.headers()["location"].to_str().expect("loc").to_string();
    assert_eq!(status(r, Method::DELETE, &loc3, Some(&t)).await, 204);
    assert_eq!(status(r, Method::DELETE, &loc3, Some(&t)).await, 404);
    assert_eq!(status(r, Method::PATCH, &loc3, Some(&t)).await, 404);

    // sha512 blob, monolithic.
    let d512 = quay_server::registry::hasher::digest_of(
        quay_server::registry::hasher::Algorithm::Sha512,
        b"five-twelve",
    );
    let resp = r
        .req(Method::POST, &format!("/v2/alice/app/blobs/uploads/?digest={d512}"), Some(&t))
        .body("five-twelve")
        .send()
        .await
        .expect("512");
    assert_eq!(resp.status(), 201);
    let got =
        r.req(Method::GET, &format!("/v2/alice/app/blobs/{d512}"), Some(&t)).send().await.expect("get512");
    assert_eq!(got.bytes().await.expect("b").as_ref(), b"five-twelve");

    // Blob GET, HEAD, Range.
    let resp =
        r.req(Method::HEAD, &format!("/v2/alice/app/blobs/{dl}"), Some(&t)).send().await.expect("head");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], layer.len().to_string().as_str());
    assert_eq!(resp.headers()["docker-content-digest"].to_str().expect("d"), dl);
    let resp = r
        .req(Method::GET, &format!("/v2/alice/app/blobs/{dl}"), Some(&t))
        .header("range", "bytes=6-8")
        .send()
        .await
        .expect("range");
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()["content-range"], format!("bytes 6-8/{}", layer.len()).as_str());
    assert_eq!(resp.bytes().await.expect("b").as_ref(), &layer[6..=8]);
    let resp = r
        .req(Method::GET, &format!("/v2/alice/app/blobs/{dl}"), Some(&t))
        .header("range", "bytes=999-")
        .send()
        .await
        .expect("416");
    assert_eq!(resp.status(), 416);
    let resp = r
        .req(Method::GET, &format!("/v2/alice/app/blobs/{}", digest(b"nope")), Some(&t))
        .send()
        .await
        .expect("unknown");
    assert_eq!(resp.status(), 404);
    assert_eq!(error_code(resp).await, "BLOB_UNKNOWN");
    assert_eq!(status(r, Method::GET, "/v2/alice/app/blobs/sha256:abc", Some(&t)).await, 400);
    assert_eq!(status(r, Method::DELETE, &format!("/v2/alice/app/blobs/{dl}"), Some(&t)).await, 405);

    // Manifests: bad ones store nothing.
    let good = image_manifest((&dc, config.len()), &[(&dl, layer.len())], "");
    let unknown_blob = image_manifest((&dc, config.len()), &[(&digest(b"missing"), 7)], "");
    let resp = r.put_manifest("alice/app", "broken", &t, OCI_MANIFEST, &unknown_blob).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(resp).await, "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(
        status(
            r,
            Method::GET,
            &format!("/v2/alice/app/manifests/{}", digest(unknown_blob.as_bytes())),
            Some(&t)
        )
        .await,
        404
    );
    let resp = r.put_manifest("alice/app", "broken", &t, OCI_MANIFEST, "{not json").await;
    assert_eq!(error_code(resp).await, "MANIFEST_INVALID");
    let resp = r.put_manifest("alice/app", "broken", &t, "text/plain", &good).await;
    assert_eq!(resp.status(), 415);
    let resp = r
        .put_manifest(
            "alice/app",
            "broken",
            &t,
            "application/vnd.docker.distribution.manifest.v2+json",
            &good,
        )
        .await;
    assert_eq!(resp.status(), 400, "Content-Type contradicting mediaType");
    let huge = format!(
        "{}{}",
        &good[..good.len() - 1],
        format_args!(r#","annotations":{{"x":"{}"}}}}"#, "a".repeat(5 << 20))
    );
    let resp = r.put_manifest("alice/app", "broken", &t, OCI_MANIFEST, &huge).await;
    assert_eq!(resp.status(), 413);
    let resp = r.put_manifest("alice/app", "bad tag!", &t, OCI_MANIFEST, &good).await;
    assert_eq!(resp.status(), 400);
    let resp = r.put_manifest("alice/app", &digest(b"other"), &t, OCI_MANIFEST, &good).await;
    assert_eq!(resp.status(), 400, "push by a digest that is not the body's");
    let tags: Value = r.get_json("/v2/alice/app/tags/list", Some(&t)).await;
    assert_eq!(tags["tags"], serde_json::json!([]), "no refused push left a tag");

    // A good push by tag; pulled back byte for byte.
    let resp = r.put_manifest("alice/app", "v1", &t, OCI_MANIFEST, &good).await;
    assert_eq!(resp.status(), 201);
    let dm = digest(good.as_bytes());
    assert_eq!(resp.headers()["docker-content-digest"].to_str().expect("d"), dm);
    assert_eq!(resp.headers()["location"].to_str().expect("l"), format!("/v2/alice/app/manifests/{dm}"));
    for reference in ["v1", dm.as_str()] {
        let resp = r
            .req(Method::GET, &format!("/v2/alice/app/manifests/{reference}"), Some(&t))
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], OCI_MANIFEST);
        assert_eq!(resp.headers()["docker-content-digest"].to_str().expect("d"), dm);
        assert_eq!(resp.text().await.expect("body"), good);
        let head = r
            .req(Method::HEAD, &format!("/v2/alice/app/manifests/{reference}"), Some(&t))
            .send()
            .await
            .expect("head");
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()["content-length"], good.len().to_string().as_str());
    }
    let resp = r.req(Method::GET, "/v2/alice/app/manifests/nosuchtag", Some(&t)).send().await.expect("get");
    assert_eq!(error_code(resp).await, "MANIFEST_UNKNOWN");

    // More tags; pagination with n/last and Link.
    for tag in ["v2", "v3"] {
        assert_eq!(r.put_manifest("alice/app", tag, &t, OCI_MANIFEST, &good).await.status(), 201);
    }
    let resp = r.req(Method::GET, "/v2/alice/app/tags/list?n=2", Some(&t)).send().await.expect("tags");
    let link = resp.headers()["link"].to_str().expect("link").to_string();
    assert_eq!(link, format!("<http://{}/v2/alice/app/tags/list?n=2&last=v2>; rel=\"next\"", r.host));
    let page: Value = resp.json().await.expect("json");
    assert_eq!(page["tags"], serde_json::json!(["v1", "v2"]));
    let page: Value = r.get_json("/v2/alice/app/tags/list?n=2&last=v2", Some(&t)).await;
    assert_eq!(page["tags"], serde_json::json!(["v3"]));

    // An index over the image, pushed by digest; then a referrer with a subject.
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{dm}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
        good.len()
    );
    let di = digest(index.as_bytes());
    let resp = r.put_manifest("alice/app", &di, &t, OCI_INDEX, &index).await;
    assert_eq!(resp.status(), 201);
    let missing_child = index.replace(&dm, &digest(b"no child"));
    let resp = r.put_manifest("alice/app", "idx", &t, OCI_INDEX, &missing_child).await;
    assert_eq!(error_code(resp).await, "MANIFEST_BLOB_UNKNOWN");
    let empty = r.push_blob("alice/app", &t, b"{}").await;
    let sig = image_manifest(
        (&empty, 2),
        &[(&dl, layer.len())],
        &format!(
            r#","artifactType":"application/vnd.example.sig","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{dm}","size":{}}},"annotations":{{"k":"v"}}"#,
            good.len()
        ),
    );
    let resp = r.put_manifest("alice/app", &digest(sig.as_bytes()), &t, OCI_MANIFEST, &sig).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["oci-subject"].to_str().expect("s"), dm);
    let resp =
        r.req(Method::GET, &format!("/v2/alice/app/referrers/{dm}"), Some(&t)).send().await.expect("refs");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], OCI_INDEX);
    let refs: Value = resp.json().await.expect("json");
    assert_eq!(refs["manifests"].as_array().map(Vec::len), Some(1));
    assert_eq!(refs["manifests"][0]["digest"].as_str(), Some(digest(sig.as_bytes()).as_str()));
    assert_eq!(refs["manifests"][0]["artifactType"], "application/vnd.example.sig");
    assert_eq!(refs["manifests"][0]["annotations"]["k"], "v");
    let resp = r
        .req(Method::GET, &format!("/v2/alice/app/referrers/{dm}?artifactType=other/type"), Some(&t))
        .send()
        .await
        .expect("refs");
    assert_eq!(resp.headers()["oci-filters-applied"], "artifactType");
    let refs: Value = resp.json().await.expect("json");
    assert_eq!(refs["manifests"], serde_json::json!([]));
    let refs: Value = r.get_json(&format!("/v2/alice/app/referrers/{}", digest(b"x")), Some(&t)).await;
    assert_eq!(refs["manifests"], serde_json::json!([]), "unknown subject: empty index");

    // Deletes: a tag, then a digest (all its tags).
    assert_eq!(status(r, Method::DELETE, "/v2/alice/app/manifests/v3", Some(&t)).await, 202);
    assert_eq!(status(r, Method::GET, "/v2/alice/app/manifests/v3", Some(&t)).await, 404);
    assert_eq!(status(r, Method::DELETE, "/v2/alice/app/manifests/v3", Some(&t)).await, 404);
    assert_eq!(status(r, Method::DELETE, &format!("/v2/alice/app/manifests/{dm}"), Some(&t)).await, 202);
    let tags: Value = r.get_json("/v2/alice/app/tags/list", Some(&t)).await;
    assert_eq!(tags["tags"], serde_json::json!([]));
    // Put v1 back for the permission checks.
    assert_eq!(r.put_manifest("alice/app", "v1", &t, OCI_MANIFEST, &good).await.status(), 201);
}

async fn permissions(r: &Registry) {
    // bob has no access to alice/app: empty grants, 401 with a scoped insufficient_scope challenge.
    let tb = r.token(Some("bob"), &["repository:alice/app:pull,push"]).await;
    assert_eq!(claims(&tb)["access"][0]["actions"], serde_json::json!([]));
    let resp = r.req(Method::GET, "/v2/alice/app/manifests/v1", Some(&tb)).send().await.expect("get");
    assert_eq!(resp.status(), 401, "a token without the grant: insufficient scope");
    assert_eq!(
        resp.headers()["www-authenticate"].to_str().expect("h"),
        format!(
            "Bearer realm=\"http://{0}/v2/auth\",service=\"{0}\",scope=\"repository:alice/app:pull\",error=\"insufficient_scope\"",
            r.host
        )
    );
    // Anonymous: private is refused, and cannot create.
    assert_eq!(status(r, Method::GET, "/v2/alice/app/tags/list", None).await, 401);
    let anon = r.token(None, &["repository:alice/app:pull", "repository:alice/new:push"]).await;
    assert_eq!(claims(&anon)["sub"], "(anonymous)");
    assert_eq!(claims(&anon)["access"][0]["actions"], serde_json::json!([]));
    assert_eq!(claims(&anon)["access"][1]["actions"], serde_json::json!([]));
    assert!(r.store.repository_access("alice", "new", None).await.expect("q").is_none());
    // bob cannot create in alice's namespace either.
    let tb2 = r.token(Some("bob"), &["repository:alice/bobs:push"]).await;
    assert_eq!(claims(&tb2)["access"][0]["actions"], serde_json::json!([]));
    assert!(r.store.repository_access("alice", "bobs", None).await.expect("q").is_none());
    // A token for one repository does not open another (scope escalation).
    let ta = r.token(Some("alice"), &["repository:alice/app:pull"]).await;
    assert_eq!(
        status(r, Method::POST, "/v2/alice/app/blobs/uploads/", Some(&ta)).await,
        401,
        "pull token cannot push"
    );
    let tbo = r.token(Some("bob"), &["repository:bob/own:pull,push"]).await;
    assert_eq!(status(r, Method::GET, "/v2/alice/app/tags/list", Some(&tbo)).await, 401);

    // Mount: bob may not mount alice's private blob (falls back to an upload session) ...
    let layer_digest = digest(b"layer-one-bytes");
    let resp = r
        .req(
            Method::POST,
            &format!("/v2/bob/own/blobs/uploads/?mount={layer_digest}&from=alice/app"),
            Some(&tbo),
        )
        .send()
        .await
        .expect("mount");
    assert_eq!(resp.status(), 202);
    let resp = r
        .req(Method::POST, &format!("/v2/bob/own/blobs/uploads/?mount={layer_digest}"), Some(&tbo))
        .send()
        .await
        .expect("mount");
    assert_eq!(resp.status(), 202);
    assert_eq!(status(r, Method::HEAD, &format!("/v2/bob/own/blobs/{layer_digest}"), Some(&tbo)).await, 404);
    // ... alice may, with and without `from`.
    let t2 = r.token(Some("alice"), &["repository:alice/other:pull,push", "repository:alice/app:pull"]).await;
    let resp = r
        .req(
            Method::POST,
            &format!("/v2/alice/other/blobs/uploads/?mount={layer_digest}&from=alice/app"),
            Some(&t2),
        )
        .send()
        .await
        .expect("mount");
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["docker-content-digest"].to_str().expect("d"), layer_digest);
    let t3 = r.token(Some("alice"), &["repository:alice/third:pull,push"]).await;
    let resp = r
        .req(Method::POST, &format!("/v2/alice/third/blobs/uploads/?mount={layer_digest}"), Some(&t3))
        .send()
        .await
        .expect("mount");
    assert_eq!(resp.status(), 201, "mount without from, readable elsewhere");
    assert_eq!(
        status(r, Method::HEAD, &format!("/v2/alice/third/blobs/{layer_digest}"), Some(&t3)).await,
        200
    );

    // Catalog: what each caller may see.
    let ta = r.token(Some("alice"), &[]).await;
    let cat: Value = r.get_json("/v2/_catalog", Some(&ta)).await;
    assert_eq!(cat["repositories"], serde_json::json!(["alice/app", "alice/other", "alice/third"]));
    let resp = r.req(Method::GET, "/v2/_catalog?n=1", Some(&ta)).send().await.expect("cat");
    assert!(resp.headers()["link"].to_str().expect("l").contains("last=alice%2Fapp"));
    let cat: Value = r.get_json("/v2/_catalog?n=5&last=alice/app", Some(&ta)).await;
    assert_eq!(cat["repositories"], serde_json::json!(["alice/other", "alice/third"]));
    let tb = r.token(Some("bob"), &[]).await;
    let cat: Value = r.get_json("/v2/_catalog", Some(&tb)).await;
    assert_eq!(cat["repositories"], serde_json::json!(["bob/own"]));
    let cat: Value = r.get_json("/v2/_catalog", None).await;
    assert_eq!(cat["repositories"], serde_json::json!([]));

    // Names and routes.
    assert_eq!(status(r, Method::GET, "/v2/Alice/App/tags/list", Some(&ta)).await, 400);
    assert_eq!(status(r, Method::GET, "/v2/alice/app/unknown", Some(&ta)).await, 404);
    // The owner may learn that a repository of hers does not exist (yet).
    assert_eq!(status(r, Method::GET, "/v2/alice/missing/tags/list", Some(&ta)).await, 404);
    assert_eq!(status(r, Method::GET, "/v2/alice/missing/tags/list", Some(&tbo)).await, 401);
}

/// `MAXIMUM_LAYER_SIZE` is enforced while streaming: 413, no blob, no object, and the upload
/// session still at its last good length.
async fn layer_limit(backend: Backend) {
    let r = Registry::start(backend, "limit", "MAXIMUM_LAYER_SIZE: 1k\n").await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/small:pull,push"]).await;
    let big = vec![7u8; 1500];
    let d = digest(&big);
    let resp = r
        .req(Method::POST, &format!("/v2/alice/small/blobs/uploads/?digest={d}"), Some(&t))
        .body(big.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 413);
    assert_eq!(status(&r, Method::HEAD, &format!("/v2/alice/small/blobs/{d}"), Some(&t)).await, 404);
    let resp = r.req(Method::POST, "/v2/alice/small/blobs/uploads/", Some(&t)).send().await.expect("post");
    let loc = resp.headers()["location"].to_str().expect("loc").to_string();
    assert_eq!(
        r.req(Method::PATCH, &loc, Some(&t)).body(vec![1u8; 600]).send().await.expect("p1").status(),
        202
    );
    assert_eq!(
        r.req(Method::PATCH, &loc, Some(&t)).body(vec![1u8; 600]).send().await.expect("p2").status(),
        413
    );
    let st = r.req(Method::GET, &loc, Some(&t)).send().await.expect("status");
    assert_eq!(st.headers()["range"], "0-599");
    assert_eq!(common::scalar(&r, "SELECT count(*) FROM imagestorage").await, 0);
    let objects = walk(&r.dir.path().join("storage/sha256"));
    assert_eq!(objects, 0, "no object stored");
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map_or(0, |rd| rd.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_size_limit_sqlite() {
    layer_limit(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_size_limit_postgres() {
    layer_limit(Backend::Postgres).await;
}

async fn scenario(backend: Backend, tag: &str) {
    let r = Registry::start(backend, tag, "").await;
    r.user("alice").await;
    r.user("bob").await;
    auth_and_base(&r).await;
    push_and_pull(&r).await;
    permissions(&r).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_protocol_sqlite() {
    scenario(Backend::Sqlite, "reg").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_protocol_postgres() {
    scenario(Backend::Postgres, "reg").await;
}

/// Unfinished uploads older than `BLOBUPLOAD_DELETION_DATE_THRESHOLD` lose their row and their
/// `uploads/<uuid>` object; younger ones are untouched and still finish.
async fn stale_uploads(backend: Backend, tag: &str) {
    let r = Registry::start(backend, tag, "").await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/app:push,pull"]).await;
    let old = r.upload_started("alice/app", &t, b"old bytes").await;
    let fresh = r.upload_started("alice/app", &t, b"abc").await;
    common::exec(&r, &format!("UPDATE blobupload SET created = '2020-01-01 00:00:00' WHERE uuid = '{old}'"))
        .await;
    let uploads = r.dir.path().join("storage/uploads");
    assert!(uploads.join(&old).exists());

    let two_days = std::time::Duration::from_secs(2 * 86_400);
    assert_eq!(quay_server::worker::clean_stale_uploads(&r.store, &r.storage, two_days).await, 1);
    assert!(!uploads.join(&old).exists(), "the stale upload's object is removed");
    assert!(uploads.join(&fresh).exists());
    assert_eq!(common::scalar(&r, "SELECT count(*) FROM blobupload").await, 1);
    let resp = r
        .req(Method::PATCH, &format!("/v2/alice/app/blobs/uploads/{old}"), Some(&t))
        .body("more")
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), 404);
    assert_eq!(error_code(resp).await, "BLOB_UPLOAD_UNKNOWN");
    let resp = r
        .req(Method::PUT, &format!("/v2/alice/app/blobs/uploads/{fresh}?digest={}", digest(b"abc")), Some(&t))
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), 201, "a young upload still finishes");
    assert_eq!(quay_server::worker::clean_stale_uploads(&r.store, &r.storage, two_days).await, 0);
}

#[tokio::test]
async fn stale_uploads_sqlite() {
    stale_uploads(Backend::Sqlite, "").await;
}

#[tokio::test]
async fn stale_uploads_postgres() {
    stale_uploads(Backend::Postgres, "stale").await;
}

/// `REGISTRY_STATE: readonly`: pulls work; every write route answers 405 DENIED with
/// `is_readonly`, and a push token request creates nothing.
async fn read_only(backend: Backend, tag: &str) {
    let r = Registry::start(backend, tag, "REGISTRY_STATE: readonly\n").await;
    let alice = r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/new:push,pull"]).await;
    assert_eq!(claims(&t)["access"][0]["actions"], serde_json::json!([]));
    assert_eq!(common::scalar(&r, "SELECT count(*) FROM repository").await, 0);
    r.store.repository_create(alice, "app", false, alice).await.expect("repository");
    let t = r.token(Some("alice"), &["repository:alice/app:push,pull"]).await;
    assert_eq!(
        r.req(Method::GET, "/v2/alice/app/tags/list", Some(&t)).send().await.expect("get").status(),
        200
    );
    for (m, path) in [
        (Method::POST, "/v2/alice/app/blobs/uploads/"),
        (Method::PATCH, "/v2/alice/app/blobs/uploads/some-uuid"),
        (Method::PUT, "/v2/alice/app/manifests/v1"),
        (Method::DELETE, "/v2/alice/app/manifests/v1"),
    ] {
        let resp = r.req(m.clone(), path, Some(&t)).send().await.expect("write");
        assert_eq!(resp.status(), 405, "{m} {path}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["errors"][0]["code"], "DENIED");
        assert_eq!(body["errors"][0]["is_readonly"], true);
    }
}

#[tokio::test]
async fn read_only_sqlite() {
    read_only(Backend::Sqlite, "").await;
}

#[tokio::test]
async fn read_only_postgres() {
    read_only(Backend::Postgres, "readonly").await;
}

/// Hostile input on every route: malformed names, digests, references, headers and numbers never
/// get a 5xx or a dropped connection, nothing is stored, and the server keeps answering.
async fn hostile_input(backend: Backend, tag: &str) {
    let r = Registry::start(backend, tag, "").await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/app:push,pull"]).await;
    let uuid = r.upload_started("alice/app", &t, b"x").await;
    let long = "a".repeat(10_000);
    let paths = [
        "/v2/alice/app/manifests/".to_string(),
        "/v2/alice/app/manifests/sha256:zz".to_string(),
        "/v2/alice/app/manifests/sha256:".to_string(),
        format!("/v2/alice/app/manifests/{long}"),
        "/v2/alice/app/manifests/%00".to_string(),
        "/v2/alice/app/manifests/..%2F..%2Fetc".to_string(),
        "/v2/alice/app/blobs/sha256:../../x".to_string(),
        format!("/v2/alice/app/blobs/sha256:{}", "0".repeat(63)),
        "/v2/alice/app/blobs/md5:abc".to_string(),
        format!("/v2/{long}/app/tags/list"),
        "/v2/ALICE/App/tags/list".to_string(),
        "/v2/alice/app/tags/list?n=-1&last=%FF".to_string(),
        "/v2/alice/app/tags/list?n=99999999999999999999".to_string(),
        "/v2/_catalog?n=abc".to_string(),
        "/v2/alice/app/referrers/notadigest".to_string(),
        "/v2/alice/app/blobs/uploads/not-a-uuid".to_string(),
        "/v2/%E2%82%AC/app/manifests/latest".to_string(),
        "/v2/alice//app/manifests/latest".to_string(),
    ];
    let methods = [Method::GET, Method::HEAD, Method::PUT, Method::PATCH, Method::DELETE, Method::POST];
    for p in &paths {
        for m in &methods {
            let resp = r.req(m.clone(), p, Some(&t)).body("{").send().await.expect("answered");
            let s = resp.status().as_u16();
            assert!(s < 500 && s != 201, "{m} {p} → {s}");
        }
    }
    let up = format!("/v2/alice/app/blobs/uploads/{uuid}");
    let headers: [(&str, String); 7] = [
        ("content-range", "18446744073709551615-0".into()),
        ("content-range", "1-18446744073709551615".into()),
        ("content-range", format!("bytes {long}")),
        ("content-length", "abc".into()),
        ("authorization", "Bearer a.b.c".into()),
        ("authorization", "Basic !!!".into()),
        ("range", "bytes=18446744073709551615-".into()),
    ];
    for (name, value) in &headers {
        for m in [Method::PATCH, Method::PUT, Method::GET] {
            let resp = r.req(m.clone(), &up, Some(&t)).header(*name, value.as_str()).body("abc").send().await;
            if let Ok(resp) = resp {
                let s = resp.status().as_u16();
                assert!((200..500).contains(&s) && s != 201, "{m} {name}: {value:.40} → {s}");
            }
        }
    }
    let resp = r
        .req(Method::GET, "/v2/auth?scope=repository:%FF:pull&scope=::::&service=x", None)
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await
        .expect("auth");
    assert!((400..500).contains(&resp.status().as_u16()), "{}", resp.status());
    // Nothing stored, and still serving.
    assert_eq!(common::scalar(&r, "SELECT count(*) FROM manifest").await, 0);
    assert_eq!(common::scalar(&r, "SELECT count(*) FROM imagestorage").await, 0);
    assert_eq!(r.req(Method::GET, "/v2/", Some(&t)).send().await.expect("base").status(), 200);
}

#[tokio::test]
async fn hostile_input_sqlite() {
    hostile_input(Backend::Sqlite, "").await;
}

#[tokio::test]
async fn hostile_input_postgres() {
    hostile_input(Backend::Postgres, "hostile").await;
}

/// A timestamp `secs` from now (negative: ago) in the registry's SQL dialect.
fn at(r: &Registry, secs: i64) -> String {
    match r.backend {
        Backend::Postgres => format!("((now() AT TIME ZONE 'UTC') + make_interval(secs => {secs}))"),
        Backend::Sqlite => format!("strftime('%Y-%m-%d %H:%M:%f', 'now', '{secs} seconds')"),
    }
}

/// The `kid` of a JWT's header.
fn kid_of(token: &str) -> String {
    use base64::Engine as _;
    let part = token.split('.').next().expect("header");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("b64");
    let header: Value = serde_json::from_slice(&raw).expect("json");
    header["kid"].as_str().expect("kid").to_string()
}

/// `GET /v2/` on another instance's base URL with a bearer token.
async fn base_status(r: &Registry, base: &str, token: &str) -> u16 {
    r.http.get(format!("{base}/v2/")).bearer_auth(token).send().await.expect("GET /v2/").status().as_u16()
}

/// Instance keys expire (INSTANCE_SERVICE_KEY_EXPIRATION), are renewed while the instance runs,
/// and are deleted once lapsed for EXPIRED_SERVICE_KEY_TTL_SEC; restarts never leave a key that
/// lives forever, and a live key's tokens validate on every instance.
async fn service_keys(backend: Backend, tag: &str) {
    use quay_server::auth::keys::KeySet;
    use std::sync::Arc;
    let r = Registry::start(backend, tag, "").await;
    r.user("alice").await;
    let expiring_in = |lo_s: i64, hi_s: i64| {
        format!(
            "SELECT count(*) FROM servicekey WHERE expiration_date > {} AND expiration_date <= {}",
            at(&r, lo_s),
            at(&r, hi_s)
        )
    };
    // The start published one key, live for 120 minutes (Quay's default).
    assert_eq!(common::scalar(&r, "SELECT count(*) FROM servicekey").await, 1);
    assert_eq!(common::scalar(&r, &expiring_in(119 * 60, 121 * 60)).await, 1);

    // Restarts with the data directory's stable key renew its row; pods without a key file each
    // publish their own key. Every row expires.
    for _ in 0..3 {
        KeySet::open(&r.config, &r.store, Some(r.dir.path())).await.expect("restart");
    }
    assert_eq!(common::scalar(&r, "SELECT count(*) FROM servicekey").await, 1);
    for _ in 0..5 {
        KeySet::open(&r.config, &r.store, None).await.expect("new pod");
    }
    assert_eq!(common::scalar(&r, "SELECT count(*) FROM servicekey").await, 6);
    assert_eq!(common::scalar(&r, "SELECT count(*) FROM servicekey WHERE expiration_date IS NULL").await, 0);

    // Older rows: one written before keys expired, one an administrator approved without expiry,
    // one lapsed a week and a day ago, one lapsed an hour ago.
    let key = |kid: &str, approval: &str, expires: &str| {
        format!(
            "INSERT INTO servicekeyapproval (approver_id, approval_type, approved_date, notes) \
             VALUES (NULL, '{approval}', '2024-01-01 00:00:00', '{kid}');
             INSERT INTO servicekey (name, kid, service, jwk, metadata, created_date, expiration_date, \
             rotation_duration, approval_id) SELECT 'http://old', '{kid}', 'quay', '{{}}', '{{}}', \
             '2024-01-01 00:00:00', {expires}, NULL, id FROM servicekeyapproval WHERE notes = '{kid}';"
        )
    };
    let auto = "ServiceKeyApprovalType.AUTOMATIC";
    common::exec(&r, &key("legacy", auto, "NULL")).await;
    common::exec(&r, &key("manual", "ServiceKeyApprovalType.SUPERUSER", "NULL")).await;
    common::exec(&r, &key("ancient", auto, &at(&r, -8 * 86400))).await;
    common::exec(&r, &key("recent", auto, &at(&r, -3600))).await;
    KeySet::open(&r.config, &r.store, Some(r.dir.path())).await.expect("restart");
    let kids = |cond: &str| format!("SELECT count(*) FROM servicekey WHERE {cond}");
    assert_eq!(common::scalar(&r, &kids("kid = 'legacy' AND expiration_date IS NOT NULL")).await, 1);
    assert_eq!(common::scalar(&r, &kids("kid = 'manual' AND expiration_date IS NULL")).await, 1);
    assert_eq!(common::scalar(&r, &kids("kid = 'ancient'")).await, 0, "lapsed past the TTL: deleted");
    assert_eq!(
        common::scalar(&r, "SELECT count(*) FROM servicekeyapproval WHERE notes = 'ancient'").await,
        0,
        "its approval goes with it"
    );
    assert_eq!(common::scalar(&r, &kids("kid = 'recent'")).await, 1, "kept until the TTL");
    assert_eq!(common::scalar(&r, &kids("expiration_date IS NULL")).await, 1, "only the manual key");

    // A token signed by a live key validates on another instance (shown to it first, so no
    // cache of this process answers for it).
    let t = r.token(Some("alice"), &[]).await;
    let kid = kid_of(&t);
    assert_eq!(base_status(&r, &r.sibling().await, &t).await, 200);

    // Once the key lapses, an instance that reads the table refuses its tokens.
    common::exec(&r, &format!("UPDATE servicekey SET expiration_date = {} WHERE kid = '{kid}'", at(&r, -60)))
        .await;
    let t2 = r.token(Some("alice"), &["repository:alice/other:pull"]).await;
    assert_eq!(base_status(&r, &r.sibling().await, &t2).await, 401);

    // The running instance's renewal revives it (polled, period shortened for the test).
    let keys = Arc::new(KeySet::open(&r.config, &r.store, Some(r.dir.path())).await.expect("keys"));
    assert_eq!(keys.instance.kid, kid);
    common::exec(&r, &format!("UPDATE servicekey SET expiration_date = {} WHERE kid = '{kid}'", at(&r, -60)))
        .await;
    let renewal =
        tokio::spawn(keys.clone().renew_every(r.store.clone(), std::time::Duration::from_millis(50)));
    let live = format!("{} AND kid = '{kid}'", expiring_in(119 * 60, 121 * 60));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while common::scalar(&r, &live).await != 1 {
        assert!(std::time::Instant::now() < deadline, "the key was not renewed");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    renewal.abort();
    let t3 = r.token(Some("alice"), &["repository:alice/third:pull"]).await;
    assert_eq!(base_status(&r, &r.sibling().await, &t3).await, 200);

    // A deleted (revoked) key is not recreated by renewal.
    common::exec(&r, &format!("DELETE FROM servicekey WHERE kid = '{kid}'")).await;
    keys.renew(&r.store).await.expect("renew");
    assert_eq!(common::scalar(&r, &kids(&format!("kid = '{kid}'"))).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_keys_sqlite() {
    service_keys(Backend::Sqlite, "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_keys_postgres() {
    service_keys(Backend::Postgres, "servicekeys").await;
}
