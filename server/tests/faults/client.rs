//! A registry client for the fault proofs: distinct images, pushes that report how far they
//! got, and the check that everything acknowledged pulls back byte-identical.

use crate::support::sha256;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const PASSWORD: &str = "password123";
/// Images go to this many repositories (several images per repository).
pub const REPOS: usize = 10;
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// xorshift64*: reproducible from the printed seed, no dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// One image a client pushes: its blobs (config first) and manifest.
#[derive(Clone)]
pub struct Image {
    pub repo: String,
    pub tag: String,
    pub blobs: Vec<(String, Vec<u8>)>,
    pub manifest: Vec<u8>,
    pub digest: String,
}

pub fn image(i: usize, rng: &mut Rng, shared: &[u8]) -> Image {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","config":{{"Labels":{{"n":"{i}"}}}}}}"#);
    let mut blobs = vec![(sha256(config.as_bytes()), config.into_bytes())];
    // A layer every image shares (deduplicated storage under crashes), and two of its own.
    blobs.push((sha256(shared), shared.to_vec()));
    for _ in 0..2 {
        let len = 16_384 + rng.below(200_000) as usize;
        let b = rng.bytes(len);
        blobs.push((sha256(&b), b));
    }
    let layers: Vec<String> = blobs[1..]
        .iter()
        .map(|(d, b)| {
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{d}","size":{}}}"#,
                b.len()
            )
        })
        .collect();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{}]}}"#,
        blobs[0].0,
        blobs[0].1.len(),
        layers.join(",")
    );
    Image {
        repo: format!("admin/img{}", i % REPOS),
        tag: format!("t{i}"),
        digest: sha256(manifest.as_bytes()),
        manifest: manifest.into_bytes(),
        blobs,
    }
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http") { location.to_string() } else { format!("{base}{location}") }
}

/// A token for pull and push on every repository the test uses (one bcrypt check for all
/// clients: tokens outlive restarts, as the instance key is on disk).
pub async fn token(http: &reqwest::Client, base: &str) -> Result<String, String> {
    token_at(http, base, base.trim_start_matches("http://")).await
}

/// As [`token`], asked of the pod at `base` for audience `service` (the balancer's address
/// when the pod sits behind one).
pub async fn token_at(http: &reqwest::Client, base: &str, service: &str) -> Result<String, String> {
    let host = service;
    let scopes: String = (0..REPOS).map(|i| format!("&scope=repository:admin/img{i}:pull,push")).collect();
    let auth: serde_json::Value = http
        .get(format!("{base}/v2/auth?service={host}{scopes}"))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .map_err(|e| format!("auth: {e}"))?
        .json()
        .await
        .map_err(|e| format!("auth body: {e}"))?;
    Ok(auth["token"].as_str().ok_or("no token")?.to_string())
}

/// Pushes `img` as a client would, counting each answered request in `progress`; `Err` on
/// anything short of the manifest's 201.
pub async fn push(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    img: &Image,
    chunked: bool,
    progress: &AtomicUsize,
) -> Result<(), String> {
    let e = |what: &str| {
        let what = what.to_string();
        move |err: reqwest::Error| format!("{what}: {err}")
    };
    let step = || progress.fetch_add(1, Ordering::Relaxed);
    for (i, (digest, bytes)) in img.blobs.iter().enumerate() {
        let uploads = format!("{base}/v2/{}/blobs/uploads/", img.repo);
        if !chunked || i == 0 {
            let r = http
                .post(format!("{uploads}?digest={digest}"))
                .bearer_auth(token)
                .body(bytes.clone())
                .send()
                .await
                .map_err(e("monolithic"))?;
            if r.status() != 201 {
                return Err(format!("monolithic upload: {}", r.status()));
            }
            step();
            continue;
        }
        let r = http.post(&uploads).bearer_auth(token).send().await.map_err(e("start"))?;
        if r.status() != 202 {
            return Err(format!("start upload: {}", r.status()));
        }
        step();
        let loc = absolute(base, r.headers()["location"].to_str().map_err(|x| x.to_string())?);
        let half = bytes.len() / 2;
        let r = http
            .patch(&loc)
            .bearer_auth(token)
            .header("content-range", format!("0-{}", half - 1))
            .header("content-type", "application/octet-stream")
            .body(bytes[..half].to_vec())
            .send()
            .await
            .map_err(e("patch"))?;
        if r.status() != 202 {
            return Err(format!("patch: {}", r.status()));
        }
        step();
        let loc = absolute(base, r.headers()["location"].to_str().map_err(|x| x.to_string())?);
        let sep = if loc.contains('?') { '&' } else { '?' };
        let r = http
            .put(format!("{loc}{sep}digest={digest}"))
            .bearer_auth(token)
            .body(bytes[half..].to_vec())
            .send()
            .await
            .map_err(e("commit"))?;
        if r.status() != 201 {
            return Err(format!("commit: {}", r.status()));
        }
        step();
    }
    let r = http
        .put(format!("{base}/v2/{}/manifests/{}", img.repo, img.tag))
        .bearer_auth(token)
        .header("content-type", OCI_MANIFEST)
        .body(img.manifest.clone())
        .send()
        .await
        .map_err(e("manifest"))?;
    if r.status() != 201 {
        return Err(format!("manifest: {}", r.status()));
    }
    let echoed = r.headers().get("docker-content-digest").and_then(|v| v.to_str().ok()).unwrap_or("");
    if echoed != img.digest {
        return Err(format!("manifest digest {echoed} != {}", img.digest));
    }
    Ok(())
}

/// GET of `img`'s manifest by its tag, asking for the OCI media type.
pub async fn pull_by_tag(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    img: &Image,
) -> reqwest::Result<reqwest::Response> {
    http.get(format!("{base}/v2/{}/manifests/{}", img.repo, img.tag))
        .bearer_auth(token)
        .header("accept", OCI_MANIFEST)
        .send()
        .await
}

/// Everything acknowledged pulls back byte-identical, by tag and by digest, blobs included.
pub async fn assert_acknowledged_pull_back(http: &reqwest::Client, base: &str, acked: &[Image], seed: u64) {
    let token = token(http, base).await.expect("token");
    let token = token.as_str();
    for img in acked {
        for reference in [&img.tag, &img.digest] {
            let r = http
                .get(format!("{base}/v2/{}/manifests/{reference}", img.repo))
                .bearer_auth(token)
                .header("accept", OCI_MANIFEST)
                .send()
                .await
                .expect("pull");
            assert_eq!(r.status(), 200, "seed {seed}: acknowledged {}:{reference} is gone", img.repo);
            assert_eq!(r.headers()["docker-content-digest"], img.digest.as_str());
            assert_eq!(r.bytes().await.expect("body").as_ref(), img.manifest.as_slice());
        }
        for (digest, bytes) in &img.blobs {
            let r = http
                .get(format!("{base}/v2/{}/blobs/{digest}", img.repo))
                .bearer_auth(token)
                .send()
                .await
                .expect("blob");
            assert_eq!(r.status(), 200, "seed {seed}: blob {digest} of {}:{}", img.repo, img.tag);
            assert!(
                r.bytes().await.expect("body").as_ref() == bytes.as_slice(),
                "seed {seed}: {digest} differs"
            );
        }
    }
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
