//! The container image (issue 15), built without pulling a base image by
//! `deploy/container/rootfs.sh` (the binary, the libraries it links, an unprivileged user) and
//! imported into Podman's store. This machine's sandbox forbids `setrlimit`, so `podman run`
//! cannot start any container here (crun: "setrlimit RLIMIT_NOFILE: Operation not permitted");
//! the test runs the image's own root filesystem with `chroot` as user 65532 instead, then has
//! skopeo push the image from Podman's store through that registry and pull it back: the
//! binary inside comes back byte-identical.

mod support;

use std::process::Command;
use support::{QUAY, Server, sha256};

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_from_scratch_serves_and_carries_itself() {
    let dir = tempfile::tempdir().expect("tmp");
    let rootfs = dir.path().join("rootfs");
    let image = format!("localhost/quay-rs:test-{}", std::process::id());
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/container/rootfs.sh");
    run(Command::new(&script).arg(QUAY).arg(&image).arg(&rootfs));
    let inspect = run(Command::new("podman").args([
        "image",
        "inspect",
        &image,
        "--format",
        "{{json .Config.Entrypoint}} {{.Config.User}} {{json .Config.Cmd}}",
    ]));
    assert_eq!(
        inspect.trim(),
        r#"["/usr/bin/quay"] 65532:65532 ["serve","--data-dir","/data","--listen","0.0.0.0:8080"]"#
    );

    // The image's filesystem, as its user: first user, then the registry.
    let mut init = Command::new("chroot");
    init.args(["--userspec=65532:65532"]).arg(&rootfs).args([
        "/usr/bin/quay",
        "init",
        "--data-dir",
        "/data",
        "--init-user",
        "admin",
        "--init-password-stdin",
    ]);
    init.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::null());
    let mut child = init.spawn().expect("init");
    use std::io::Write as _;
    child.stdin.take().expect("stdin").write_all(b"password123\n").expect("stdin");
    assert!(child.wait().expect("init").success());
    let mut serve = Command::new("chroot");
    serve.args(["--userspec=65532:65532"]).arg(&rootfs).args([
        "/usr/bin/quay",
        "serve",
        "--data-dir",
        "/data",
        "--listen",
        "127.0.0.1:0",
    ]);
    let server = tokio::task::spawn_blocking(move || Server::spawn(serve)).await.expect("serve");
    let host = server.base.trim_start_matches("http://").to_string();

    let creds = "admin:password123";
    let remote = format!("docker://{host}/admin/quay-rs:ci");
    run(Command::new("skopeo").args([
        "--insecure-policy",
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        creds,
        &format!("containers-storage:{image}"),
        &remote,
    ]));
    let pulled = dir.path().join("pulled");
    run(Command::new("skopeo").args([
        "--insecure-policy",
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        creds,
        &remote,
        &format!("dir:{}", pulled.display()),
    ]));
    // The one layer holds the binary: extract it and compare.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pulled.join("manifest.json")).expect("manifest"))
            .expect("json");
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1, "{manifest}");
    let layer = pulled.join(layers[0]["digest"].as_str().expect("digest").trim_start_matches("sha256:"));
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    run(Command::new("tar").arg("-xf").arg(&layer).arg("-C").arg(&out).arg("./usr/bin/quay"));
    let original = std::fs::read(QUAY).expect("binary");
    let carried = std::fs::read(out.join("usr/bin/quay")).expect("carried binary");
    assert_eq!(sha256(&carried), sha256(&original), "the binary came back byte-identical");
    eprintln!("container: {} MiB image pushed and pulled through its own registry", original.len() >> 20);

    tokio::task::spawn_blocking(move || server.kill()).await.expect("kill");
    let _ = Command::new("podman").args(["rmi", "-f", &image]).output();
}
