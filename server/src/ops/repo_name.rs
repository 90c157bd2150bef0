//! A repository as named in a request (`namespace/name`), parsed once for every protocol.

/// A repository as named in a request: namespace and repository name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoName {
    pub namespace: String,
    pub name: String,
}

impl RepoName {
    /// `ns/name…`; one segment means the library namespace (`FEATURE_LIBRARY_SUPPORT`).
    pub fn parse(path: &str, library: Option<&str>) -> Option<RepoName> {
        let (ns, name) = match path.split_once('/') {
            Some((ns, name)) => (ns, name),
            None => (library?, path),
        };
        let ns_ok = !ns.is_empty()
            && ns.len() <= 255
            && ns.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'));
        (ns_ok && quay_core::names::is_valid_repository_name(name))
            .then(|| RepoName { namespace: ns.to_string(), name: name.to_string() })
    }
    pub fn full(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names() {
        let lib = Some("library");
        assert_eq!(RepoName::parse("alpine", lib).map(|r| r.full()).as_deref(), Some("library/alpine"));
        assert_eq!(RepoName::parse("org/team/app", lib).map(|r| r.full()).as_deref(), Some("org/team/app"));
        assert_eq!(RepoName::parse("alpine", None), None);
        assert_eq!(RepoName::parse("Org/app", lib), None);
        assert_eq!(RepoName::parse("org/App", lib), None);
        assert_eq!(RepoName::parse("org//app", lib), None);
    }
}
