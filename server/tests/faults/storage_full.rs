//! Storage that fills up mid-write (issue 14): blob storage on an 8 MiB tmpfs, with PostgreSQL
//! beside it, and mirror mode with its whole data directory (SQLite and blobs) on one. A blob
//! larger than the free space, sent whole and in chunks, fails with a clear error; nothing of it
//! becomes visible (no blob, no row, no tag), what it wrote is given back, the server keeps
//! serving pulls, and pushes work again once there is room.

use crate::client::{Rng, free_port, image, push, token};
use crate::installation::Installation;
use crate::support::sha256;
use quay_tests::TestDb;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicUsize;

const SIZE_MIB: u64 = 8;

/// A tmpfs of [`SIZE_MIB`] mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path) -> Tmpfs {
        std::fs::create_dir_all(at).expect("mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={SIZE_MIB}m")])
            .arg("tmpfs")
            .arg(at)
            .status()
            .expect("mount");
        assert!(ok.success(), "mounting a tmpfs needs root (CI runs as root)");
        Tmpfs(at.to_path_buf())
    }

    fn free(&self) -> u64 {
        let out = Command::new("df").args(["--output=avail", "-B1"]).arg(&self.0).output().expect("df");
        String::from_utf8_lossy(&out.stdout).lines().nth(1).and_then(|l| l.trim().parse().ok()).unwrap_or(0)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

async fn storage_fills_up(mirror: bool) {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let data = dir.path().join("data");
    let (tmpfs, _db, inst) = if mirror {
        let fs = Tmpfs::mount(&data);
        (fs, None, Installation::new(false, false, dir.path(), port).await)
    } else {
        let fs = Tmpfs::mount(&data.join("storage"));
        let db = TestDb::with_extension("full").await.expect("database");
        let inst = Installation::on_database(
            &db.url,
            dir.path(),
            port,
            &Installation::local_storage(dir.path()),
            "DISKSPACE_HEALTH_WARNING_THRESHOLD: 1.5\n",
        )
        .await;
        (fs, Some(db), inst)
    };
    inst.init_admin();
    let server = inst.serve(port).await;
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let tok = token(&http, &base).await.expect("token");
    let mut rng = Rng(11);
    let kept = image(0, &mut rng, b"shared layer bytes");
    push(&http, &base, &tok, &kept, false, &AtomicUsize::new(0)).await.expect("a small push fits");
    let before = tmpfs.free();
    if !mirror {
        // No volume is ever 150% free: the warning check fails, in Quay's format.
        let r = http.get(format!("{base}/health/warning")).send().await.expect("warning");
        assert_eq!(r.status(), 503);
        let body: serde_json::Value = r.json().await.expect("json");
        assert_eq!(
            body,
            serde_json::json!({"data": {"services": {"disk_space_warning": false}}, "status_code": 503})
        );
    }

    // Whole: a monolithic upload of more than the free space.
    let big = rng.bytes(before as usize + (2 << 20));
    let digest = sha256(&big);
    let r = http
        .post(format!("{base}/v2/admin/img0/blobs/uploads/?digest={digest}"))
        .bearer_auth(&tok)
        .body(big.clone())
        .send()
        .await
        .expect("monolithic");
    let status = r.status().as_u16();
    let body = r.text().await.expect("body");
    eprintln!("storage_full: monolithic upload of {} B ({before} B free): {status} {body}", big.len());
    assert!(status >= 500, "a write that cannot fit fails: {status} {body}");
    assert!(
        body.contains("errors") && body.to_lowercase().contains("space"),
        "a clear registry error: {body}"
    );

    // In chunks: the first fits, the second does not.
    let r = http
        .post(format!("{base}/v2/admin/img0/blobs/uploads/"))
        .bearer_auth(&tok)
        .send()
        .await
        .expect("start");
    assert_eq!(r.status(), 202);
    let loc = r.headers()["location"].to_str().expect("location").to_string();
    let loc = if loc.starts_with("http") { loc } else { format!("{base}{loc}") };
    let half = before as usize / 2;
    let r = http
        .patch(&loc)
        .bearer_auth(&tok)
        .header("content-range", format!("0-{}", half - 1))
        .body(big[..half].to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 202, "the first chunk fits");
    let loc = r.headers()["location"].to_str().expect("location").to_string();
    let loc = if loc.starts_with("http") { loc } else { format!("{base}{loc}") };
    let sep = if loc.contains('?') { '&' } else { '?' };
    let r = http
        .put(format!("{loc}{sep}digest={digest}"))
        .bearer_auth(&tok)
        .body(big[half..].to_vec())
        .send()
        .await
        .expect("final chunk");
    let status = r.status().as_u16();
    let body = r.text().await.expect("body");
    eprintln!("storage_full: chunked upload, final chunk: {status} {body}");
    assert!(status >= 500 && body.to_lowercase().contains("space"), "{status} {body}");
    // The client gives up on the session, as a client does after a failed upload.
    let r = http.delete(&loc).bearer_auth(&tok).send().await.expect("cancel");
    assert_eq!(r.status(), 204, "the session is cancelled");

    // Nothing of the big blob is visible; the small image still pulls; the space came back.
    let r = http
        .head(format!("{base}/v2/admin/img0/blobs/{digest}"))
        .bearer_auth(&tok)
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 404, "a blob that did not fit is not there");
    let rows =
        inst.rows(&format!("SELECT count(*) FROM imagestorage WHERE content_checksum = '{digest}'")).await;
    assert_eq!(rows[0][0], "0", "no storage row for it");
    crate::client::assert_acknowledged_pull_back(&http, &base, std::slice::from_ref(&kept), 11).await;
    let after = tmpfs.free();
    eprintln!("storage_full: free before {before} B, after the failures {after} B");
    // The cancelled session holds nothing and the failed monolithic write was removed. (Mirror
    // mode's SQLite file may grow a little meanwhile.)
    assert!(after + (256 << 10) >= before, "the failed writes gave their space back: {before} -> {after}");
    let small = image(1, &mut rng, b"shared layer bytes");
    push(&http, &base, &tok, &small, true, &AtomicUsize::new(0)).await.expect("pushes work again");
    crate::client::assert_acknowledged_pull_back(&http, &base, &[kept, small], 11).await;
    inst.assert_consistent(11).await;
    tokio::task::spawn_blocking(move || server.kill()).await.expect("kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_full_postgres() {
    storage_fills_up(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_full_mirror() {
    storage_fills_up(true).await;
}
