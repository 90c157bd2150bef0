//! Manifest documents, checked once for every writer (the extension's `quay.manifest_put` and
//! mirror mode run this same code): Docker schema 2 manifests and lists, OCI image manifests and
//! indexes, and OCI 1.1 artifacts (`artifactType`, `subject`). [`CheckedManifest::check`] computes
//! the digest of the exact bytes, compares it with the one the client named, parses the
//! document and derives what the database records (config, layers, children, subject, artifact
//! type, the layers' size). What a manifest references is checked against the repository when
//! it is recorded (`crate::tags::manifest_put_checked`).
//!
//! Refusals are [`CoreError::Invalid`] with a stable code:
//! - `QUAY_MANIFEST_INVALID`: not UTF-8 / JSON, or not a valid document of its type;
//! - `QUAY_MEDIA_TYPE_UNSUPPORTED`: a media type we do not store (Docker schema 1, anything else);
//! - `QUAY_MEDIA_TYPE_MISMATCH`: the declared media type contradicts the document's `mediaType`;
//! - `QUAY_DIGEST_INVALID`: the expected digest is malformed or not the digest of the bytes.

use crate::exec::{CoreError, CoreResult, invalid};
use crate::names;
use crate::rules::Rule;
use serde_json::Value;
use sha2::Digest as _;
use std::fmt::Write as _;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

pub const MANIFEST_INVALID: Rule = Rule::ManifestInvalid;
pub const MEDIA_TYPE_UNSUPPORTED: Rule = Rule::MediaTypeUnsupported;
pub const MEDIA_TYPE_MISMATCH: Rule = Rule::MediaTypeMismatch;
pub const DIGEST_INVALID: Rule = Rule::DigestInvalid;

/// The facts of a manifest to record. [`crate::tags::manifest_put_bytes`] derives them from the bytes
/// ([`crate::manifests`]); the legacy 12-argument `quay.manifest_put` takes them from its caller
/// as they are.
#[derive(Debug, Clone, Default)]
pub struct NewManifest {
    pub repository_id: i64,
    pub digest: String,
    pub media_type: String,
    pub manifest_bytes: String,
    pub config_digest: Option<String>,
    /// Layers without foreign URLs (the config digest may be given here or above).
    pub blob_digests: Vec<String>,
    /// Manifests of a list/index, already in the repository.
    pub child_digests: Vec<String>,
    pub subject_digest: Option<String>,
    pub artifact_type: Option<String>,
    pub config_media_type: Option<String>,
    pub layers_compressed_size: Option<i64>,
    /// A hidden `$temp-` tag keeping the manifest for this long, unless a tag already does
    /// (Quay: pushes by digest). `None` when the caller tags it in the same transaction.
    pub temp_tag_expiration_s: Option<i64>,
}

fn bad(message: impl Into<String>) -> CoreError {
    invalid(MANIFEST_INVALID, message)
}

/// The digest algorithms of content addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha256,
    Sha512,
}

impl DigestAlgorithm {
    /// The algorithm of a digest string (`sha256:…` / `sha512:…`).
    pub fn of_digest(digest: &str) -> Option<DigestAlgorithm> {
        match digest.split_once(':')?.0 {
            "sha256" => Some(DigestAlgorithm::Sha256),
            "sha512" => Some(DigestAlgorithm::Sha512),
            _ => None,
        }
    }
}

/// `algorithm:hex` of `bytes`.
pub fn digest_of(algorithm: DigestAlgorithm, bytes: &[u8]) -> String {
    fn hex(prefix: &str, bytes: &[u8]) -> String {
        let mut out = String::with_capacity(prefix.len() + 1 + bytes.len() * 2);
        out.push_str(prefix);
        out.push(':');
        for b in bytes {
            let _ = write!(out, "{b:02x}");
        }
        out
    }
    match algorithm {
        DigestAlgorithm::Sha256 => hex("sha256", &sha2::Sha256::digest(bytes)),
        DigestAlgorithm::Sha512 => hex("sha512", &sha2::Sha512::digest(bytes)),
    }
}

/// The body of a push as the text a manifest is stored as (`manifest.manifest_bytes`): UTF-8
/// without NUL characters (which PostgreSQL text cannot hold and no JSON document contains).
pub fn manifest_text(bytes: &[u8]) -> CoreResult<&str> {
    let text = std::str::from_utf8(bytes).map_err(|_| bad("manifest is not UTF-8"))?;
    if text.contains('\0') {
        return Err(bad("manifest contains a NUL character"));
    }
    Ok(text)
}

/// A descriptor's media type, digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: i64,
    /// Foreign layers (`urls`) are not stored by the registry.
    pub remote: bool,
}

/// What a manifest document says, once validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedManifest {
    pub media_type: String,
    pub config: Option<Descriptor>,
    pub layers: Vec<Descriptor>,
    pub children: Vec<Descriptor>,
    pub subject: Option<String>,
    pub artifact_type: Option<String>,
}

impl ParsedManifest {
    pub fn is_index(&self) -> bool {
        self.media_type == DOCKER_LIST || self.media_type == OCI_INDEX
    }
    /// Digests of the stored layers (foreign layers excluded; the config is separate).
    pub fn layer_digests(&self) -> Vec<String> {
        self.layers.iter().filter(|d| !d.remote).map(|d| d.digest.clone()).collect()
    }
    /// The sum of the layers' sizes (checked not to overflow); `None` for lists and indexes.
    pub fn layers_size(&self) -> Option<i64> {
        (!self.is_index()).then(|| self.layers.iter().map(|d| d.size).sum())
    }
}

/// Parses and validates a manifest document pushed as `declared_media_type` (a `Content-Type`:
/// parameters ignored; `None`, empty or `application/json` let the document's own `mediaType`
/// decide). The two must agree when both are given.
pub fn parse(bytes: &str, declared_media_type: Option<&str>) -> CoreResult<ParsedManifest> {
    let header = declared_media_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    let doc: Value =
        serde_json::from_str(bytes).map_err(|e| bad(format!("manifest is not valid JSON: {e}")))?;
    let obj = doc.as_object().ok_or_else(|| bad("manifest is not a JSON object"))?;
    let body_type = match obj.get("mediaType") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad("mediaType must be a string")),
    };
    let header = header.filter(|h| !h.is_empty() && h != "application/json");
    if let Some(h) = &header {
        check_supported(h)?;
    }
    let media_type = match (header, body_type) {
        (Some(h), Some(b)) if h != b => {
            return Err(invalid(
                MEDIA_TYPE_MISMATCH,
                format!("Content-Type {h} does not match the manifest's mediaType {b}"),
            ));
        }
        (Some(h), _) => h,
        (None, Some(b)) => b,
        // An OCI document may omit mediaType; tell image from index by shape.
        (None, None) => {
            if obj.contains_key("manifests") {
                OCI_INDEX.into()
            } else {
                OCI_MANIFEST.into()
            }
        }
    };
    check_supported(&media_type)?;
    if obj.get("schemaVersion").and_then(Value::as_i64) != Some(2) {
        return Err(bad("schemaVersion must be 2"));
    }
    let subject = match obj.get("subject") {
        None | Some(Value::Null) => None,
        Some(v) => Some(descriptor(v, "subject")?.digest),
    };
    let artifact_type = match obj.get("artifactType") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if is_media_type(s) => Some(s.clone()),
        Some(_) => return Err(bad("artifactType must be a media type")),
    };
    if let Some(a) = obj.get("annotations")
        && !a.as_object().is_some_and(|m| m.values().all(Value::is_string))
    {
        return Err(bad("annotations must map strings to strings"));
    }
    let mut parsed =
        ParsedManifest { media_type, config: None, layers: vec![], children: vec![], subject, artifact_type };
    if parsed.is_index() {
        let list = obj
            .get("manifests")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("manifests must be an array"))?;
        for (i, m) in list.iter().enumerate() {
            parsed.children.push(descriptor(m, &format!("manifests[{i}]"))?);
        }
    } else {
        let config = obj.get("config").ok_or_else(|| bad("config is required"))?;
        parsed.config = Some(descriptor(config, "config")?);
        let layers = match obj.get("layers") {
            Some(Value::Array(l)) => l.as_slice(),
            None if parsed.media_type == OCI_MANIFEST => &[],
            _ => return Err(bad("layers must be an array")),
        };
        for (i, l) in layers.iter().enumerate() {
            parsed.layers.push(descriptor(l, &format!("layers[{i}]"))?);
        }
        // The image's size is stored as a 64-bit count: a sum past it is no real image.
        if parsed.layers.iter().try_fold(0i64, |total, d| total.checked_add(d.size)).is_none() {
            return Err(bad("the layers' sizes add up to more than 2^63-1 bytes"));
        }
    }
    Ok(parsed)
}

fn check_supported(media_type: &str) -> CoreResult<()> {
    match media_type {
        DOCKER_MANIFEST | OCI_MANIFEST | DOCKER_LIST | OCI_INDEX => Ok(()),
        DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED => {
            Err(invalid(MEDIA_TYPE_UNSUPPORTED, "Docker schema 1 manifests are not supported"))
        }
        other => {
            Err(invalid(MEDIA_TYPE_UNSUPPORTED, format!("manifest media type {other} is not supported")))
        }
    }
}

fn descriptor(v: &Value, what: &str) -> CoreResult<Descriptor> {
    let o = v.as_object().ok_or_else(|| bad(format!("{what} must be an object")))?;
    let media_type = o
        .get("mediaType")
        .and_then(Value::as_str)
        .filter(|s| is_media_type(s))
        .ok_or_else(|| bad(format!("{what}.mediaType is missing or not a media type")))?;
    let digest = o
        .get("digest")
        .and_then(Value::as_str)
        .filter(|d| names::is_valid_digest(d))
        .ok_or_else(|| bad(format!("{what}.digest is missing or not a sha256/sha512 digest")))?;
    let size = o
        .get("size")
        .and_then(Value::as_i64)
        .filter(|s| *s >= 0)
        .ok_or_else(|| bad(format!("{what}.size must be a non-negative integer")))?;
    let remote = match o.get("urls") {
        None | Some(Value::Null) => false,
        Some(Value::Array(u)) if u.iter().all(Value::is_string) => !u.is_empty(),
        Some(_) => return Err(bad(format!("{what}.urls must be an array of strings"))),
    };
    Ok(Descriptor { media_type: media_type.into(), digest: digest.into(), size, remote })
}

/// RFC 6838 shape: `type/subtype` with restricted characters, parameters not allowed.
fn is_media_type(s: &str) -> bool {
    let ok = |part: &str| {
        !part.is_empty()
            && part.len() <= 127
            && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    matches!(s.split_once('/'), Some((t, st)) if ok(t) && ok(st))
}

/// A manifest that passed every rule that needs only its bytes: its digest is computed (and is
/// the one the client named, if it named one) and its document is valid. Only
/// [`CheckedManifest::check`] makes one.
#[derive(Debug, Clone)]
pub struct CheckedManifest {
    digest: String,
    bytes: String,
    parsed: ParsedManifest,
}

impl CheckedManifest {
    /// Computes the digest of `bytes` (sha256, or the algorithm of `expected_digest`), refuses a
    /// mismatch, then parses the document ([`parse`]).
    pub fn check(
        bytes: impl Into<String>,
        declared_media_type: Option<&str>,
        expected_digest: Option<&str>,
    ) -> CoreResult<CheckedManifest> {
        let bytes = bytes.into();
        let algorithm = match expected_digest {
            None => DigestAlgorithm::Sha256,
            Some(d) => {
                DigestAlgorithm::of_digest(d).filter(|_| names::is_valid_digest(d)).ok_or_else(|| {
                    invalid(DIGEST_INVALID, format!("expected digest {d:?} is not a sha256 or sha512 digest"))
                })?
            }
        };
        let digest = digest_of(algorithm, bytes.as_bytes());
        if let Some(expected) = expected_digest
            && expected != digest
        {
            return Err(invalid(
                DIGEST_INVALID,
                format!("manifest digest mismatch: the bytes are {digest}, not {expected}"),
            ));
        }
        let parsed = parse(&bytes, declared_media_type)?;
        Ok(CheckedManifest { digest, bytes, parsed })
    }

    pub fn digest(&self) -> &str {
        &self.digest
    }
    pub fn bytes(&self) -> &str {
        &self.bytes
    }
    pub fn parsed(&self) -> &ParsedManifest {
        &self.parsed
    }

    /// The rows to record for `repository_id`.
    pub(crate) fn into_new_manifest(
        self,
        repository_id: i64,
        temp_tag_expiration_s: Option<i64>,
    ) -> NewManifest {
        let p = self.parsed;
        NewManifest {
            repository_id,
            digest: self.digest,
            blob_digests: p.layer_digests(),
            child_digests: p.children.iter().map(|c| c.digest.clone()).collect(),
            layers_compressed_size: p.layers_size(),
            config_digest: p.config.as_ref().map(|c| c.digest.clone()),
            config_media_type: p.config.map(|c| c.media_type),
            media_type: p.media_type,
            manifest_bytes: self.bytes,
            subject_digest: p.subject,
            artifact_type: p.artifact_type,
            temp_tag_expiration_s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";

    fn image(extra: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{D}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{D}","size":32}}]{extra}}}"#
        )
    }

    fn code(r: CoreResult<impl std::fmt::Debug>) -> Rule {
        match r {
            Err(CoreError::Invalid { code, .. }) => code,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn parses_an_image_with_subject_and_artifact_type() {
        let p = parse(
            &image(&format!(
                r#","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{D}","size":1}},"artifactType":"application/x.sig""#
            )),
            Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
        )
        .expect("valid");
        assert_eq!(p.media_type, OCI_MANIFEST);
        assert_eq!(p.subject.as_deref(), Some(D));
        assert_eq!(p.artifact_type.as_deref(), Some("application/x.sig"));
        assert_eq!(p.layer_digests(), vec![D.to_string()]);
        assert_eq!(p.layers_size(), Some(32));
    }

    #[test]
    fn refuses_bad_documents_with_their_codes() {
        let two_huge_layers = image("").replace(
            "\"size\":32}]",
            &format!(
                "\"size\":{m}}},{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{D}\",\"size\":{m}}}]",
                m = i64::MAX
            ),
        );
        let cases: Vec<(String, Option<&str>, Rule)> = vec![
            ("not json".into(), None, MANIFEST_INVALID),
            ("[]".into(), None, MANIFEST_INVALID),
            (image("").replace("\"schemaVersion\":2", "\"schemaVersion\":1"), None, MANIFEST_INVALID),
            (image("").replace(D, "sha256:abc"), None, MANIFEST_INVALID),
            (image("").replace("\"size\":32", "\"size\":-1"), None, MANIFEST_INVALID),
            (image("").replace("\"size\":32", "\"size\":18446744073709551616"), None, MANIFEST_INVALID),
            (two_huge_layers, None, MANIFEST_INVALID),
            (image(""), Some(DOCKER_MANIFEST), MEDIA_TYPE_MISMATCH),
            (image(""), Some("text/plain"), MEDIA_TYPE_UNSUPPORTED),
            (
                r#"{"schemaVersion":1,"name":"a","tag":"b"}"#.into(),
                Some(DOCKER_SCHEMA1),
                MEDIA_TYPE_UNSUPPORTED,
            ),
            (
                format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":{{}}}}"#),
                None,
                MANIFEST_INVALID,
            ),
        ];
        for (body, ct, expected) in cases {
            assert_eq!(code(parse(&body, ct)), expected, "{body} {ct:?}");
        }
    }

    #[test]
    fn index_children_and_shape_detection() {
        let idx = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{D}","size":10,"platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#
        );
        let p = parse(&idx, None).expect("valid");
        assert_eq!(p.media_type, OCI_INDEX);
        assert_eq!(p.children.len(), 1);
        assert_eq!(p.layers_size(), None);
    }

    #[test]
    fn digests_are_computed_and_compared() {
        assert_eq!(
            digest_of(DigestAlgorithm::Sha256, b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let body = image("");
        let m = CheckedManifest::check(body.clone(), None, None).expect("valid");
        assert_eq!(m.digest(), digest_of(DigestAlgorithm::Sha256, body.as_bytes()));
        let d512 = digest_of(DigestAlgorithm::Sha512, body.as_bytes());
        assert_eq!(d512.len(), 7 + 128);
        let m = CheckedManifest::check(body.clone(), None, Some(&d512)).expect("sha512 asked");
        assert_eq!(m.digest(), d512);
        assert_eq!(code(CheckedManifest::check(body.clone(), None, Some(D))), DIGEST_INVALID);
        assert_eq!(code(CheckedManifest::check(body.clone(), None, Some("sha256:abc"))), DIGEST_INVALID);
        // The digest is checked before the document: a wrong digest of garbage is a digest error.
        assert_eq!(code(CheckedManifest::check("garbage", None, Some(D))), DIGEST_INVALID);
        assert_eq!(code(manifest_text(b"\xff")), MANIFEST_INVALID);
        assert_eq!(code(manifest_text(b"{\0}")), MANIFEST_INVALID);
    }
}
