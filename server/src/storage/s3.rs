//! S3-compatible storage (Quay's `S3Storage`): objects at `<storage_path>/<content path>` in the
//! bucket, so an existing Quay bucket is read as is.
//!
//! Uploads: each request's bytes become a piece object `<storage_path>/uploads/<uuid>/<piece>`
//! (see `storage::piece_name`; a multipart upload when it exceeds one part). Finishing copies
//! the recorded pieces into the content object server-side (`UploadPartCopy`) when every piece
//! but the last is at least S3's 5 MiB part minimum, else streams them through; then deletes
//! the pieces. The content object appears only after the digest verified, and only once. Downloads can be redirected to
//! presigned GET URLs (Quay's behaviour) or streamed.

use super::{ByteStream, PieceSpan, Placed, WriteError, content_path};
use crate::registry::hasher::Hasher;
use anyhow::{Context as _, bail};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream as S3Body;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use futures_util::StreamExt as _;
use std::time::{Duration, SystemTime};

/// An SDK error with its whole cause chain (the SDK's own Display says only "service error").
/// S3 out of reach (no connection, a timeout) or failing on its side (5xx) is
/// [`super::StorageUnavailable`], so a request answers 503 rather than 500.
fn sdk<E>(e: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_s3::error::SdkError;
    let unavailable = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ServiceError(s) => s.raw().status().is_server_error(),
        SdkError::ResponseError(r) => r.raw().status().is_server_error(),
        _ => false,
    };
    let message = format!("{}", aws_sdk_s3::error::DisplayErrorContext(e));
    if unavailable {
        anyhow::Error::new(super::StorageUnavailable(message))
    } else {
        anyhow::anyhow!(message)
    }
}

/// Part size for multipart writes (S3's minimum is 5 MiB except for the last part).
const PART: usize = 8 << 20;
const MIN_PART: u64 = 5 << 20;

#[derive(Clone)]
pub struct S3Storage {
    client: Client,
    bucket: String,
    /// `storage_path` without leading or trailing `/` (may be empty).
    prefix: String,
    /// Answer blob GETs with a 302 to a presigned URL.
    redirect: bool,
}

/// Connection parameters (the `S3Storage` entry of `DISTRIBUTED_STORAGE_CONFIG`).
#[derive(Debug, Clone, Default)]
pub struct S3Params {
    pub bucket: String,
    pub storage_path: String,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub region: Option<String>,
    /// `endpoint_url`, or `host` (+ `port`) for S3-compatible servers.
    pub endpoint: Option<String>,
    pub redirect: bool,
}

impl S3Storage {
    pub fn new(p: S3Params) -> Self {
        let mut conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(p.region.clone().unwrap_or_else(|| "us-east-1".into())))
            .force_path_style(p.endpoint.is_some())
            // Only the checksums S3 requires: S3-compatible servers (Ceph, older MinIO, moto)
            // refuse multipart completions whose parts carried checksums the request omits.
            .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired);
        if let (Some(a), Some(s)) = (&p.access_key, &p.secret_key) {
            conf = conf.credentials_provider(Credentials::new(a, s, None, None, "quay-config"));
        }
        if let Some(e) = &p.endpoint {
            conf = conf.endpoint_url(e);
        }
        S3Storage {
            client: Client::from_conf(conf.build()),
            bucket: p.bucket,
            prefix: p.storage_path.trim_matches('/').to_string(),
            redirect: p.redirect,
        }
    }

    fn key(&self, rel: &str) -> String {
        if self.prefix.is_empty() { rel.to_string() } else { format!("{}/{rel}", self.prefix) }
    }

    fn chunk_prefix(&self, uuid: &str) -> String {
        self.key(&format!("uploads/{uuid}/"))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(S3Body::from(bytes))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    pub async fn delete(&self, rel: &str) -> anyhow::Result<()> {
        self.client.delete_object().bucket(&self.bucket).key(self.key(rel)).send().await.map_err(sdk)?;
        Ok(())
    }

    pub async fn size(&self, rel: &str) -> anyhow::Result<Option<u64>> {
        match self.client.head_object().bucket(&self.bucket).key(self.key(rel)).send().await {
            Ok(h) => Ok(Some(u64::try_from(h.content_length().unwrap_or(0)).unwrap_or(0))),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(sdk(e).context("HeadObject")),
        }
    }

    pub async fn read(&self, rel: &str, start: u64, len: u64) -> anyhow::Result<ByteStream> {
        self.read_key(&self.key(rel), start, len).await
    }

    async fn read_key(&self, key: &str, start: u64, len: u64) -> anyhow::Result<ByteStream> {
        let mut req = self.client.get_object().bucket(&self.bucket).key(key);
        if len > 0 {
            req = req.range(format!("bytes={start}-{}", start + len - 1));
        }
        let out = req.send().await.map_err(sdk).context("GetObject")?;
        let reader = out.body.into_async_read();
        Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(reader, 1 << 20)))
    }

    /// A presigned GET for the object, when redirects are on.
    pub async fn direct_url(&self, rel: &str) -> anyhow::Result<Option<String>> {
        if !self.redirect {
            return Ok(None);
        }
        let cfg = PresigningConfig::expires_in(Duration::from_secs(20 * 60))?;
        let req = self.client.get_object().bucket(&self.bucket).key(self.key(rel)).presigned(cfg).await?;
        Ok(Some(req.uri().to_string()))
    }

    pub async fn upload_write(
        &self,
        uuid: &str,
        piece: &str,
        offset: u64,
        body: ByteStream,
        hasher: &mut Hasher,
        max_total: u64,
    ) -> Result<u64, WriteError> {
        let key = format!("{}{piece}", self.chunk_prefix(uuid));
        let written = self.write_object(&key, body, hasher, offset, max_total).await;
        if written.is_err() {
            let _ = self.client.delete_object().bucket(&self.bucket).key(&key).send().await;
        }
        written
    }

    /// Streams `body` into object `key` (one PUT, or a multipart upload past one part), hashing
    /// it; `start` is the byte count before it, `max_total` the limit including it.
    async fn write_object(
        &self,
        key: &str,
        mut body: ByteStream,
        hasher: &mut Hasher,
        start: u64,
        max_total: u64,
    ) -> Result<u64, WriteError> {
        let storage = |e: anyhow::Error| WriteError::Storage(e);
        let mut total = start;
        let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
        let mut multipart: Option<(String, Vec<CompletedPart>)> = None;
        let result: Result<(), WriteError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = super::accept(chunk, &mut total, max_total, hasher)?;
                buf.extend_from_slice(&chunk);
                if buf.len() >= PART {
                    let part = std::mem::replace(&mut buf, Vec::with_capacity(PART));
                    self.upload_part(key, &mut multipart, part).await.map_err(storage)?;
                }
            }
            if multipart.is_none() {
                return self.put(key, std::mem::take(&mut buf)).await.map_err(storage);
            }
            if !buf.is_empty() {
                self.upload_part(key, &mut multipart, std::mem::take(&mut buf)).await.map_err(storage)?;
            }
            let (id, parts) = multipart.take().ok_or_else(|| storage(anyhow::anyhow!("multipart lost")))?;
            self.complete(key, &id, parts).await.map_err(storage)
        }
        .await;
        if let (Err(_), Some((id, _))) = (&result, &multipart) {
            let _ =
                self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(id).send().await;
        }
        result.map(|()| total)
    }

    async fn upload_part(
        &self,
        key: &str,
        multipart: &mut Option<(String, Vec<CompletedPart>)>,
        part: Vec<u8>,
    ) -> anyhow::Result<()> {
        if multipart.is_none() {
            let out = self
                .client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(sdk)?;
            *multipart = Some((out.upload_id().context("no upload id")?.to_string(), Vec::new()));
        }
        let (id, parts) = multipart.as_mut().context("multipart")?;
        let n = i32::try_from(parts.len() + 1)?;
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(id.as_str())
            .part_number(n)
            .body(S3Body::from(part))
            .send()
            .await?;
        parts
            .push(CompletedPart::builder().part_number(n).set_e_tag(out.e_tag().map(str::to_string)).build());
        Ok(())
    }

    async fn complete(&self, key: &str, id: &str, parts: Vec<CompletedPart>) -> anyhow::Result<()> {
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await?;
        Ok(())
    }

    /// Every object under `prefix` (all pages): key and size.
    async fn list(&self, prefix: &str) -> anyhow::Result<Vec<(String, u64)>> {
        Ok(self.list_with_times(prefix).await?.into_iter().map(|(k, s, _)| (k, s)).collect())
    }

    /// Every object under `prefix` (all pages): key, size and last modification.
    async fn list_with_times(&self, prefix: &str) -> anyhow::Result<Vec<(String, u64, SystemTime)>> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(sdk)?;
            for o in out.contents() {
                if let Some(k) = o.key() {
                    let modified = o
                        .last_modified()
                        .and_then(|t| SystemTime::try_from(*t).ok())
                        .unwrap_or_else(SystemTime::now);
                    found.push((k.to_string(), u64::try_from(o.size().unwrap_or(0)).unwrap_or(0), modified));
                }
            }
            match out.next_continuation_token() {
                Some(t) if out.is_truncated().unwrap_or(false) => token = Some(t.to_string()),
                _ => return Ok(found),
            }
        }
    }

    /// Assembles the verified upload's pieces (`size` bytes) into the content object, unless it
    /// already exists (write-once; the caller holds the digest lock), then removes the pieces.
    /// One piece is copied server-side (`CopyObject`); several with every piece but the last at
    /// least S3's 5 MiB part minimum are joined server-side (`UploadPartCopy`); smaller ones are
    /// streamed through. A single PUT or a completed multipart upload appears atomically.
    pub(crate) async fn upload_place(
        &self,
        uuid: &str,
        pieces: &[PieceSpan],
        algorithm: &str,
        hex: &str,
        size: u64,
    ) -> anyhow::Result<Placed> {
        let rel = content_path(algorithm, hex);
        if self.size(&rel).await?.is_some() {
            return Ok(Placed::AlreadyStored);
        }
        let target = self.key(&rel);
        let prefix = self.chunk_prefix(uuid);
        let keys: Vec<String> = pieces.iter().map(|p| format!("{prefix}{}", p.name)).collect();
        for (key, p) in keys.iter().zip(pieces) {
            let have = self.size_key(key).await?.with_context(|| format!("upload piece {key} is missing"))?;
            if have != p.len {
                bail!("upload piece {key} holds {have} bytes, {} were recorded", p.len);
            }
        }
        let copyable = pieces.len() > 1
            && pieces[..pieces.len() - 1].iter().all(|p| p.len >= MIN_PART)
            && pieces.iter().all(|p| p.len <= (5u64 << 30));
        if pieces.len() == 1 && size <= (5u64 << 30) {
            let source = format!("{}/{}", self.bucket, keys[0]);
            self.client
                .copy_object()
                .bucket(&self.bucket)
                .key(&target)
                .copy_source(source)
                .send()
                .await
                .map_err(sdk)?;
        } else if copyable {
            let out = self
                .client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(&target)
                .send()
                .await
                .map_err(sdk)?;
            let id = out.upload_id().context("no upload id")?.to_string();
            let mut parts = Vec::new();
            for (i, key) in keys.iter().enumerate() {
                let n = i32::try_from(i + 1)?;
                let out = self
                    .client
                    .upload_part_copy()
                    .bucket(&self.bucket)
                    .key(&target)
                    .upload_id(&id)
                    .part_number(n)
                    .copy_source(format!("{}/{key}", self.bucket))
                    .send()
                    .await?;
                let etag = out.copy_part_result().and_then(|r| r.e_tag()).map(str::to_string);
                parts.push(CompletedPart::builder().part_number(n).set_e_tag(etag).build());
            }
            self.complete(&target, &id, parts).await?;
        } else {
            let mut hasher = Hasher::new(crate::registry::hasher::Algorithm::Sha256);
            let me = self.clone();
            let body = futures_util::stream::iter(keys)
                .then(move |key| {
                    let me = me.clone();
                    async move { me.read_key(&key, 0, 0).await.map_err(std::io::Error::other) }
                })
                .map(|r| match r {
                    Ok(s) => s,
                    Err(e) => Box::pin(futures_util::stream::once(async move { Err(e) })) as ByteStream,
                })
                .flatten();
            let written = self
                .write_object(&target, Box::pin(body), &mut hasher, 0, u64::MAX)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if written != size {
                let _ = self.delete(&rel).await;
                bail!("assembled upload holds {written} bytes, not {size}");
            }
        }
        Ok(Placed::Stored)
    }

    async fn size_key(&self, key: &str) -> anyhow::Result<Option<u64>> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(h) => Ok(Some(u64::try_from(h.content_length().unwrap_or(0)).unwrap_or(0))),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(sdk(e).context("HeadObject")),
        }
    }

    /// Upload uuids with objects under `uploads/`, each with its newest object's time.
    pub async fn list_uploads(&self) -> anyhow::Result<Vec<(String, SystemTime)>> {
        let prefix = self.key("uploads/");
        let mut newest: std::collections::BTreeMap<String, SystemTime> = Default::default();
        for (key, _, modified) in self.list_with_times(&prefix).await? {
            let Some(uuid) = key[prefix.len()..].split('/').next().filter(|u| !u.is_empty()) else {
                continue;
            };
            let t = newest.entry(uuid.to_string()).or_insert(modified);
            *t = (*t).max(modified);
        }
        Ok(newest.into_iter().collect())
    }

    pub async fn list_content(&self) -> anyhow::Result<Vec<(String, SystemTime)>> {
        let mut found = Vec::new();
        for algorithm in ["sha256/", "sha512/"] {
            let prefix = self.key(algorithm);
            let strip = self.key("").len();
            for (key, _, modified) in self.list_with_times(&prefix).await? {
                if let Some(d) = super::digest_of_content_path(&key[strip..]) {
                    found.push((d, modified));
                }
            }
        }
        Ok(found)
    }

    /// Removes every piece object of an upload.
    pub async fn upload_cancel(&self, uuid: &str) -> anyhow::Result<()> {
        for (key, _) in self.list(&self.chunk_prefix(uuid)).await? {
            self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(sdk)?;
        }
        Ok(())
    }

    /// Writes, reads back and deletes a small object.
    pub async fn check(&self) -> anyhow::Result<()> {
        let key = self.key(&format!(".health-{}", uuid::Uuid::new_v4()));
        self.put(&key, b"ok".to_vec())
            .await
            .with_context(|| format!("bucket {} is not writable", self.bucket))?;
        let back = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(sdk)?
            .body
            .collect()
            .await?;
        let _ = self.client.delete_object().bucket(&self.bucket).key(&key).send().await;
        if back.into_bytes().as_ref() != b"ok" {
            bail!("bucket {} returned different bytes", self.bucket);
        }
        Ok(())
    }
}
