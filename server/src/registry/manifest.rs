//! Manifest parsing and validation for pushes: Docker schema 2 and manifest lists, OCI image
//! manifests and indexes, and OCI 1.1 artifacts (`artifactType`, `subject`). What a manifest
//! references is checked against the repository by `quay.manifest_put` / the core, not here.

use serde_json::Value;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Why a manifest was refused; the handler maps it to the registry error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Unsupported media type (415 MANIFEST_INVALID, as Quay).
    MediaType(String),
    /// Anything else wrong with the document (400 MANIFEST_INVALID).
    Invalid(String),
}

/// A descriptor's digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: i64,
    /// Foreign layers (`urls`) are not stored by the registry.
    pub remote: bool,
}

/// What the store needs to record a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub media_type: String,
    pub config: Option<Descriptor>,
    pub layers: Vec<Descriptor>,
    pub children: Vec<Descriptor>,
    pub subject: Option<String>,
    pub artifact_type: Option<String>,
}

impl Parsed {
    pub fn is_index(&self) -> bool {
        self.media_type == DOCKER_LIST || self.media_type == OCI_INDEX
    }
    /// Digests of the stored blobs the manifest uses (config and local layers).
    pub fn blob_digests(&self) -> Vec<String> {
        self.layers.iter().filter(|d| !d.remote).map(|d| d.digest.clone()).collect()
    }
    pub fn layers_size(&self) -> Option<i64> {
        (!self.is_index()).then(|| self.layers.iter().map(|d| d.size).sum())
    }
}

/// Parses and validates `bytes` pushed with `content_type` (the request's `Content-Type`,
/// parameters ignored). The body's own `mediaType` decides when the header is absent or generic;
/// the two must agree when both are given.
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Parsed, Refusal> {
    let header = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| Refusal::Invalid(format!("manifest is not valid JSON: {e}")))?;
    let obj = doc.as_object().ok_or_else(|| Refusal::Invalid("manifest is not a JSON object".into()))?;
    let body_type = match obj.get("mediaType") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(Refusal::Invalid("mediaType must be a string".into())),
    };
    let header = header.filter(|h| !h.is_empty() && h != "application/json");
    if let Some(h) = &header {
        check_supported(h)?;
    }
    let media_type = match (header, body_type) {
        (Some(h), Some(b)) if h != b => {
            return Err(Refusal::Invalid(format!(
                "Content-Type {h} does not match the manifest's mediaType {b}"
            )));
        }
        (Some(h), _) => h,
        (None, Some(b)) => b,
        (None, None) => {
            // An OCI document may omit mediaType; tell image from index by shape.
            if obj.contains_key("manifests") { OCI_INDEX.into() } else { OCI_MANIFEST.into() }
        }
    };
    check_supported(&media_type)?;
    if obj.get("schemaVersion").and_then(Value::as_i64) != Some(2) {
        return Err(Refusal::Invalid("schemaVersion must be 2".into()));
    }
    let subject = match obj.get("subject") {
        None | Some(Value::Null) => None,
        Some(v) => Some(descriptor(v, "subject")?.digest),
    };
    let artifact_type = match obj.get("artifactType") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if is_media_type(s) => Some(s.clone()),
        Some(_) => return Err(Refusal::Invalid("artifactType must be a media type".into())),
    };
    if let Some(a) = obj.get("annotations") {
        let ok = a.as_object().is_some_and(|m| m.values().all(Value::is_string));
        if !ok {
            return Err(Refusal::Invalid("annotations must map strings to strings".into()));
        }
    }
    let mut parsed = Parsed {
        media_type: media_type.clone(),
        config: None,
        layers: vec![],
        children: vec![],
        subject,
        artifact_type,
    };
    if parsed.is_index() {
        let list = obj
            .get("manifests")
            .and_then(Value::as_array)
            .ok_or_else(|| Refusal::Invalid("manifests must be an array".into()))?;
        for (i, m) in list.iter().enumerate() {
            parsed.children.push(descriptor(m, &format!("manifests[{i}]"))?);
        }
    } else {
        let config = obj.get("config").ok_or_else(|| Refusal::Invalid("config is required".into()))?;
        parsed.config = Some(descriptor(config, "config")?);
        let layers = match obj.get("layers") {
            Some(Value::Array(l)) => l,
            None if media_type == OCI_MANIFEST => &Vec::new(),
            _ => return Err(Refusal::Invalid("layers must be an array".into())),
        };
        for (i, l) in layers.iter().enumerate() {
            parsed.layers.push(descriptor(l, &format!("layers[{i}]"))?);
        }
        // The image's size is stored as a 64-bit count: a sum past it is no real image.
        if parsed.layers.iter().try_fold(0i64, |total, d| total.checked_add(d.size)).is_none() {
            return Err(Refusal::Invalid("the layers' sizes add up to more than 2^63-1 bytes".into()));
        }
    }
    Ok(parsed)
}

fn check_supported(media_type: &str) -> Result<(), Refusal> {
    match media_type {
        DOCKER_MANIFEST | OCI_MANIFEST | DOCKER_LIST | OCI_INDEX => Ok(()),
        DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED => {
            Err(Refusal::MediaType("Docker schema 1 manifests are not supported".into()))
        }
        other => Err(Refusal::MediaType(format!("manifest media type {other} is not supported"))),
    }
}

fn descriptor(v: &Value, what: &str) -> Result<Descriptor, Refusal> {
    let o = v.as_object().ok_or_else(|| Refusal::Invalid(format!("{what} must be an object")))?;
    let media_type = o
        .get("mediaType")
        .and_then(Value::as_str)
        .filter(|s| is_media_type(s))
        .ok_or_else(|| Refusal::Invalid(format!("{what}.mediaType is missing or not a media type")))?;
    let digest =
        o.get("digest").and_then(Value::as_str).filter(|d| quay_core::names::is_valid_digest(d)).ok_or_else(
            || Refusal::Invalid(format!("{what}.digest is missing or not a sha256/sha512 digest")),
        )?;
    let size = o
        .get("size")
        .and_then(Value::as_i64)
        .filter(|s| *s >= 0)
        .ok_or_else(|| Refusal::Invalid(format!("{what}.size must be a non-negative integer")))?;
    let remote = match o.get("urls") {
        None | Some(Value::Null) => false,
        Some(Value::Array(u)) if u.iter().all(Value::is_string) => !u.is_empty(),
        Some(_) => return Err(Refusal::Invalid(format!("{what}.urls must be an array of strings"))),
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

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";

    fn image(extra: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{D}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{D}","size":32}}]{extra}}}"#
        )
    }

    #[test]
    fn parses_an_image_with_subject_and_artifact_type() {
        let p = parse(
            image(&format!(r#","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{D}","size":1}},"artifactType":"application/x.sig""#))
                .as_bytes(),
            Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
        )
        .expect("valid");
        assert_eq!(p.media_type, OCI_MANIFEST);
        assert_eq!(p.subject.as_deref(), Some(D));
        assert_eq!(p.artifact_type.as_deref(), Some("application/x.sig"));
        assert_eq!(p.blob_digests(), vec![D.to_string()]);
        assert_eq!(p.layers_size(), Some(32));
    }

    #[test]
    fn refuses_bad_documents() {
        let cases: Vec<(String, Option<&str>, bool)> = vec![
            ("not json".into(), None, false),
            ("[]".into(), None, false),
            (image("").replace("\"schemaVersion\":2", "\"schemaVersion\":1"), None, false),
            (image("").replace(D, "sha256:abc"), None, false),
            (image("").replace("\"size\":32", "\"size\":-1"), None, false),
            (image("").replace("\"size\":32", "\"size\":18446744073709551616"), None, false),
            (
                image("").replace(
                    "\"size\":32}]",
                    &format!(
                        "\"size\":{m}}},{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{D}\",\"size\":{m}}}]",
                        m = i64::MAX
                    ),
                ),
                None,
                false,
            ),
            (image(""), Some(DOCKER_MANIFEST), false),
            (image(""), Some("text/plain"), true),
            (r#"{"schemaVersion":1,"name":"a","tag":"b"}"#.into(), Some(DOCKER_SCHEMA1), true),
            (format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":{{}}}}"#), None, false),
        ];
        for (body, ct, media) in cases {
            match parse(body.as_bytes(), ct) {
                Err(Refusal::MediaType(_)) if media => {}
                Err(Refusal::Invalid(_)) if !media => {}
                other => panic!("{body} {ct:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn index_children_and_shape_detection() {
        let idx = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{D}","size":10,"platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#
        );
        let p = parse(idx.as_bytes(), None).expect("valid");
        assert_eq!(p.media_type, OCI_INDEX);
        assert_eq!(p.children.len(), 1);
        assert_eq!(p.layers_size(), None);
    }
}
