//! Real clients against the registry on both backends: `skopeo copy` of a multi-layer image and
//! of a multi-arch index into the registry and back (identical manifest bytes and blobs), and
//! `podman push` / `podman pull`. The clients are installed by `tests/run.sh`.

use super::common;

use common::{Backend, OCI_INDEX, OCI_MANIFEST, PASSWORD, Registry, digest};
use std::path::Path;
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?} (tests/run.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes a blob into an OCI layout; returns (digest, size).
fn put_blob(layout: &Path, bytes: &[u8]) -> (String, usize) {
    let d = digest(bytes);
    let hex = d.trim_start_matches("sha256:");
    std::fs::create_dir_all(layout.join("blobs/sha256")).expect("mkdir");
    std::fs::write(layout.join("blobs/sha256").join(hex), bytes).expect("write blob");
    (d, bytes.len())
}

/// A gzipped tar layer holding one file, made with the system `tar`.
fn layer(work: &Path, name: &str, content: &str) -> Vec<u8> {
    let src = work.join(format!("src-{name}"));
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join(name), content).expect("write");
    let out = work.join(format!("{name}.tar.gz"));
    run(Command::new("tar").arg("--mtime=2020-01-01").arg("-czf").arg(&out).arg("-C").arg(&src).arg(name));
    std::fs::read(out).expect("read layer")
}

/// An image manifest with a config and `layers` layers, for an architecture; (digest, size, bytes).
fn image(layout: &Path, work: &Path, arch: &str, layers: usize) -> (String, usize, String) {
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    for i in 0..layers {
        let bytes =
            layer(work, &format!("{arch}-file{i}"), &format!("{arch} layer {i}\n").repeat(1000 * (i + 1)));
        let (d, s) = put_blob(layout, &bytes);
        descs.push(format!(
            r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{d}","size":{s}}}"#
        ));
        diff_ids.push(format!("\"{d}\""));
    }
    let config = format!(
        r#"{{"architecture":"{arch}","os":"linux","rootfs":{{"type":"layers","diff_ids":[{}]}},"config":{{}}}}"#,
        diff_ids.join(",")
    );
    let (cd, cs) = put_blob(layout, config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{cs}}},"layers":[{}]}}"#,
        descs.join(",")
    );
    let (md, ms) = put_blob(layout, manifest.as_bytes());
    (md, ms, manifest)
}

fn write_index(layout: &Path, media_type: &str, digest: &str, size: usize, tag: &str) {
    std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).expect("layout");
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{media_type}","digest":"{digest}","size":{size},"annotations":{{"org.opencontainers.image.ref.name":"{tag}"}}}}]}}"#
    );
    std::fs::write(layout.join("index.json"), index).expect("index");
}

fn skopeo(r: &Registry, args: &[&str]) -> String {
    let creds = format!("alice:{PASSWORD}");
    let mut cmd = Command::new("skopeo");
    cmd.arg("--insecure-policy").args(args);
    if args.first() == Some(&"copy") {
        cmd.args([
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--src-creds",
            &creds,
            "--dest-creds",
            &creds,
        ]);
    }
    let _ = r;
    run(&mut cmd)
}

fn same_blobs(a: &Path, b: &Path, digests: &[&str]) {
    for d in digests {
        let hex = d.trim_start_matches("sha256:");
        let x = std::fs::read(a.join("blobs/sha256").join(hex)).expect("original blob");
        let y = std::fs::read(b.join("blobs/sha256").join(hex))
            .unwrap_or_else(|_| panic!("{d} missing after the round trip"));
        assert!(x == y, "{d} differs after the round trip");
    }
}

async fn skopeo_round_trips(backend: Backend) {
    let r = Registry::start(backend, "skopeo", "").await;
    r.user("alice").await;
    let work = tempfile::tempdir().expect("tmp");
    let w = work.path();

    // A three-layer image.
    let src = w.join("src");
    let (md, ms, manifest) = image(&src, w, "amd64", 3);
    write_index(&src, OCI_MANIFEST, &md, ms, "v1");
    let dest = format!("docker://{}/alice/img:v1", r.host);
    skopeo(&r, &["copy", &format!("oci:{}:v1", src.display()), &dest]);
    let t = r.token(Some("alice"), &["repository:alice/img:pull"]).await;
    let got = r.req(reqwest::Method::GET, "/v2/alice/img/manifests/v1", Some(&t)).send().await.expect("get");
    assert_eq!(got.headers()["docker-content-digest"].to_str().expect("d"), md);
    assert_eq!(got.text().await.expect("body"), manifest, "the registry serves the pushed bytes");
    let back = w.join("back");
    skopeo(&r, &["copy", &dest, &format!("oci:{}:v1", back.display())]);
    let mut all: Vec<String> = vec![md.clone()];
    let doc: serde_json::Value = serde_json::from_str(&manifest).expect("json");
    all.push(doc["config"]["digest"].as_str().expect("cfg").to_string());
    for l in doc["layers"].as_array().expect("layers") {
        all.push(l["digest"].as_str().expect("d").to_string());
    }
    same_blobs(&src, &back, &all.iter().map(String::as_str).collect::<Vec<_>>());
    let inspect = skopeo(
        &r,
        &["inspect", "--tls-verify=false", "--creds", &format!("alice:{PASSWORD}"), "--raw", &dest],
    );
    assert_eq!(inspect.trim_end(), manifest);

    // A multi-arch index of two images.
    let msrc = w.join("multi");
    let (a, asz, _) = image(&msrc, w, "amd64", 2);
    let (b, bsz, _) = image(&msrc, w, "arm64", 2);
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{a}","size":{asz},"platform":{{"architecture":"amd64","os":"linux"}}}},{{"mediaType":"{OCI_MANIFEST}","digest":"{b}","size":{bsz},"platform":{{"architecture":"arm64","os":"linux"}}}}]}}"#
    );
    let (id, isz) = put_blob(&msrc, index.as_bytes());
    write_index(&msrc, OCI_INDEX, &id, isz, "multi");
    let mdest = format!("docker://{}/alice/multi:v1", r.host);
    skopeo(&r, &["copy", "--all", &format!("oci:{}:multi", msrc.display()), &mdest]);
    let mback = w.join("mback");
    skopeo(&r, &["copy", "--all", &mdest, &format!("oci:{}:multi", mback.display())]);
    same_blobs(&msrc, &mback, &[&id, &a, &b]);
    let t = r.token(Some("alice"), &["repository:alice/multi:pull"]).await;
    let got =
        r.req(reqwest::Method::GET, "/v2/alice/multi/manifests/v1", Some(&t)).send().await.expect("get");
    assert_eq!(got.text().await.expect("body"), index);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_copy_sqlite() {
    skopeo_round_trips(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_copy_postgres() {
    skopeo_round_trips(Backend::Postgres).await;
}

/// `skopeo copy --preserve-digests` pushes an image by digest and copies it back by digest;
/// `skopeo delete` (a `*` token, GET then DELETE by digest) removes it and a tagged image, which
/// are then gone by digest and by tag.
async fn skopeo_by_digest_and_delete(backend: Backend) {
    let (r, work, tagged, _) = seeded(backend, "skopeodel", "alice/img", 2).await;
    let w = work.path();
    let src = w.join("bd-src");
    let (md, ms, _) = image(&src, w, "arm64", 2);
    write_index(&src, OCI_MANIFEST, &md, ms, "v1");
    let by_digest = format!("docker://{}/alice/bydigest@{md}", r.host);
    skopeo(&r, &["copy", "--preserve-digests", &format!("oci:{}:v1", src.display()), &by_digest]);
    let t = r.token(Some("alice"), &["repository:alice/bydigest:pull", "repository:alice/img:pull"]).await;
    let path = format!("/v2/alice/bydigest/manifests/{md}");
    let got = r.req(reqwest::Method::GET, &path, Some(&t)).send().await.expect("get");
    assert_eq!(got.status(), 200);
    let back = w.join("bd-back");
    skopeo(&r, &["copy", "--preserve-digests", &by_digest, &format!("oci:{}:v1", back.display())]);
    same_blobs(&src, &back, &[&md]);
    let creds = format!("alice:{PASSWORD}");
    let tagged_ref = format!("docker://{}/alice/img:v1", r.host);
    for reference in [by_digest.as_str(), tagged_ref.as_str()] {
        skopeo(&r, &["delete", "--tls-verify=false", "--creds", &creds, reference]);
    }
    for path in [path, format!("/v2/alice/img/manifests/{tagged}"), "/v2/alice/img/manifests/v1".into()] {
        let s = r.req(reqwest::Method::HEAD, &path, Some(&t)).send().await.expect("head").status();
        assert_eq!(s, 404, "{path} after skopeo delete");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_by_digest_and_delete_sqlite() {
    skopeo_by_digest_and_delete(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_by_digest_and_delete_postgres() {
    skopeo_by_digest_and_delete(Backend::Postgres).await;
}

/// A registry with user alice and an amd64 image of `layers` layers that skopeo pushed as
/// `<repo>:v1`; returns the registry, the work dir, and the manifest's digest and size.
async fn seeded(
    backend: Backend,
    tag: &str,
    repo: &str,
    layers: usize,
) -> (Registry, tempfile::TempDir, String, usize) {
    let r = Registry::start(backend, tag, "").await;
    r.user("alice").await;
    let work = tempfile::tempdir().expect("tmp");
    let src = work.path().join("src");
    let (md, ms, _) = image(&src, work.path(), "amd64", layers);
    write_index(&src, OCI_MANIFEST, &md, ms, "v1");
    skopeo(&r, &["copy", &format!("oci:{}:v1", src.display()), &format!("docker://{}/{repo}:v1", r.host)]);
    (r, work, md, ms)
}

/// `podman pull` of an image skopeo pushed, then `podman push` of it under another name, pulled
/// again: the manifest podman pushed is served back with the digest it reported.
async fn podman_push_pull(backend: Backend) {
    let (r, work, _, _) = seeded(backend, "podman", "alice/base", 2).await;
    let w = work.path();

    let root = w.join("podman-root");
    let runroot = w.join("podman-run");
    let podman = |args: &[&str]| {
        let mut cmd = Command::new("podman");
        cmd.arg("--root")
            .arg(&root)
            .arg("--runroot")
            .arg(&runroot)
            .args(["--storage-driver", "vfs"])
            .args(args);
        run(&mut cmd)
    };
    let creds = format!("alice:{PASSWORD}");
    let base = format!("{}/alice/base:v1", r.host);
    podman(&["pull", "--tls-verify=false", "--creds", &creds, &base]);
    let pushed = format!("{}/alice/pushed:v2", r.host);
    podman(&["tag", &base, &pushed]);
    let digest_file = w.join("digest");
    podman(&[
        "push",
        "--tls-verify=false",
        "--creds",
        &creds,
        "--digestfile",
        digest_file.to_str().expect("path"),
        &pushed,
    ]);
    let reported = std::fs::read_to_string(&digest_file).expect("digestfile");
    let t = r.token(Some("alice"), &["repository:alice/pushed:pull"]).await;
    let got =
        r.req(reqwest::Method::GET, "/v2/alice/pushed/manifests/v2", Some(&t)).send().await.expect("get");
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["docker-content-digest"].to_str().expect("d"), reported.trim());
    let body = got.bytes().await.expect("body");
    assert_eq!(digest(&body), reported.trim(), "served bytes hash to the pushed digest");
    podman(&["rmi", "-a", "-f"]);
    podman(&["pull", "--tls-verify=false", "--creds", &creds, &pushed]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podman_push_pull_sqlite() {
    podman_push_pull(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podman_push_pull_postgres() {
    podman_push_pull(Backend::Postgres).await;
}

/// `oras` (PyPI) pushes an artifact whose subject is an image; the referrers API lists it.
async fn oras_referrer(backend: Backend) {
    let (r, work, md, ms) = seeded(backend, "oras", "alice/signed", 1).await;
    let w = work.path();
    let file = w.join("signature.txt");
    std::fs::write(&file, "signed by the test\n").expect("write");
    let script = quay_tests::repo_path("tests/clients/oras_push_referrer.py");
    let out = run(Command::new("python3").arg(script).args([
        r.host.as_str(),
        "alice",
        PASSWORD,
        "alice/signed",
        OCI_MANIFEST,
        md.as_str(),
        &ms.to_string(),
        file.to_str().expect("path"),
    ]));
    let pushed = out.trim().to_string();
    assert!(pushed.starts_with("sha256:"), "oras printed {out:?}");
    let t = r.token(Some("alice"), &["repository:alice/signed:pull"]).await;
    let resp = r
        .req(reqwest::Method::GET, &format!("/v2/alice/signed/referrers/{md}"), Some(&t))
        .send()
        .await
        .expect("referrers");
    assert_eq!(resp.status(), 200);
    let index: serde_json::Value = resp.json().await.expect("json");
    let found: Vec<&str> = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .filter_map(|m| m["digest"].as_str())
        .collect();
    assert_eq!(found, vec![pushed.as_str()], "the artifact is found through its subject");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oras_referrer_sqlite() {
    oras_referrer(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oras_referrer_postgres() {
    oras_referrer(Backend::Postgres).await;
}
