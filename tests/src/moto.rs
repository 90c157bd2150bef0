//! An S3-compatible server for tests: moto (PyPI, installed by `tests/run.sh`) on 127.0.0.1 at a
//! free port, with one bucket; stopped when dropped.
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn moto(bucket: &str) -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server (tests/run.sh installs moto[server] from PyPI)");
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(&url).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resp = http.put(format!("{url}/{bucket}")).send().await.expect("create bucket");
    assert!(resp.status().is_success(), "create bucket: {}", resp.status());
    Moto { child, url }
}

/// Keys in the bucket (moto answers ListObjectsV2 without signatures).
pub async fn keys(m: &Moto, bucket: &str) -> Vec<String> {
    let body = reqwest::get(format!("{}/{bucket}?list-type=2&max-keys=1000", m.url))
        .await
        .expect("list")
        .text()
        .await
        .expect("body");
    body.split("<Key>").skip(1).filter_map(|s| s.split("</Key>").next()).map(str::to_string).collect()
}

pub fn storage(m: &Moto, bucket: &str, direct: bool) -> String {
    format!(
        "[S3Storage, {{s3_bucket: {bucket}, storage_path: /registry, s3_access_key: testing, s3_secret_key: testing, \
         s3_region: us-east-1, endpoint_url: \"{}\", direct_download: {direct}}}]",
        m.url
    )
}
