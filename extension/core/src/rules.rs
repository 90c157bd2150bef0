//! The stable codes of rule violations: one enum, so callers match variants, not strings. The
//! extension raises SQLSTATE 22023 with [`Rule::as_str`] in DETAIL; the server maps each variant
//! to its protocol's error once (`/v2`: the OCI error body).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// No OAuth application of that client id in the organization.
    ApplicationUnknown,
    BlobUnknown,
    /// `quay.user_initialize` on a database that already has a user.
    DatabaseNotEmpty,
    DigestInvalid,
    /// Another person's account already uses the e-mail address.
    EmailTaken,
    InvalidArgument,
    LabelUnknown,
    ManifestInvalid,
    ManifestUnknown,
    MediaTypeMismatch,
    MediaTypeUnknown,
    MediaTypeUnsupported,
    NamespaceDisabled,
    NamespaceExists,
    NamespaceLastAdmin,
    NamespaceNotMarked,
    NamespaceUnknown,
    NameInvalid,
    NotificationUnknown,
    PermissionDenied,
    /// The user or team holds no permission on the repository.
    PermissionUnknown,
    /// No auto-prune policy of that uuid in the namespace or repository.
    PolicyUnknown,
    PrototypeUnknown,
    QueueNameInvalid,
    /// A new manifest would take the namespace past its quota's `Reject` limit.
    QuotaExceeded,
    /// The namespace already has a quota.
    QuotaExists,
    /// The quota already has a limit of that type and percent.
    QuotaLimitExists,
    /// No such quota or quota limit in the namespace.
    QuotaUnknown,
    RepositoryNotMarked,
    RepositoryNotWritable,
    RepositoryUnknown,
    RobotExists,
    RobotUnknown,
    StorageLocationUnknown,
    TagImmutable,
    TagNameInvalid,
    TagNotRestorable,
    /// No alive tag of that name.
    TagUnknown,
    TeamNameInvalid,
    TeamUnknown,
    TokenUnknown,
    /// An upload session is no longer as the caller last saw it (finished, cancelled or
    /// advanced by another request): nothing was committed.
    UploadChanged,
    /// No person (enabled or not) of that id or name.
    UserUnknown,
}

impl Rule {
    /// Every rule, for parsing and documentation.
    pub const ALL: &'static [Rule] = &[
        Rule::ApplicationUnknown,
        Rule::BlobUnknown,
        Rule::DatabaseNotEmpty,
        Rule::DigestInvalid,
        Rule::EmailTaken,
        Rule::InvalidArgument,
        Rule::LabelUnknown,
        Rule::ManifestInvalid,
        Rule::ManifestUnknown,
        Rule::MediaTypeMismatch,
        Rule::MediaTypeUnknown,
        Rule::MediaTypeUnsupported,
        Rule::NamespaceDisabled,
        Rule::NamespaceExists,
        Rule::NamespaceLastAdmin,
        Rule::NamespaceNotMarked,
        Rule::NamespaceUnknown,
        Rule::NameInvalid,
        Rule::NotificationUnknown,
        Rule::PermissionDenied,
        Rule::PermissionUnknown,
        Rule::PolicyUnknown,
        Rule::PrototypeUnknown,
        Rule::QueueNameInvalid,
        Rule::QuotaExceeded,
        Rule::QuotaExists,
        Rule::QuotaLimitExists,
        Rule::QuotaUnknown,
        Rule::RepositoryNotMarked,
        Rule::RepositoryNotWritable,
        Rule::RepositoryUnknown,
        Rule::RobotExists,
        Rule::RobotUnknown,
        Rule::StorageLocationUnknown,
        Rule::TagImmutable,
        Rule::TagNameInvalid,
        Rule::TagNotRestorable,
        Rule::TagUnknown,
        Rule::TeamNameInvalid,
        Rule::TeamUnknown,
        Rule::TokenUnknown,
        Rule::UploadChanged,
        Rule::UserUnknown,
    ];

    /// The stable code (`QUAY_*`), as in DETAIL.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::ApplicationUnknown => "QUAY_APPLICATION_UNKNOWN",
            Rule::BlobUnknown => "QUAY_BLOB_UNKNOWN",
            Rule::DatabaseNotEmpty => "QUAY_DATABASE_NOT_EMPTY",
            Rule::DigestInvalid => "QUAY_DIGEST_INVALID",
            Rule::EmailTaken => "QUAY_EMAIL_TAKEN",
            Rule::InvalidArgument => "QUAY_INVALID_ARGUMENT",
            Rule::LabelUnknown => "QUAY_LABEL_UNKNOWN",
            Rule::ManifestInvalid => "QUAY_MANIFEST_INVALID",
            Rule::ManifestUnknown => "QUAY_MANIFEST_UNKNOWN",
            Rule::MediaTypeMismatch => "QUAY_MEDIA_TYPE_MISMATCH",
            Rule::MediaTypeUnknown => "QUAY_MEDIA_TYPE_UNKNOWN",
            Rule::MediaTypeUnsupported => "QUAY_MEDIA_TYPE_UNSUPPORTED",
            Rule::NamespaceDisabled => "QUAY_NAMESPACE_DISABLED",
            Rule::NamespaceExists => "QUAY_NAMESPACE_EXISTS",
            Rule::NamespaceLastAdmin => "QUAY_NAMESPACE_LAST_ADMIN",
            Rule::NamespaceNotMarked => "QUAY_NAMESPACE_NOT_MARKED",
            Rule::NamespaceUnknown => "QUAY_NAMESPACE_UNKNOWN",
            Rule::NameInvalid => "QUAY_NAME_INVALID",
            Rule::NotificationUnknown => "QUAY_NOTIFICATION_UNKNOWN",
            Rule::PermissionDenied => "QUAY_PERMISSION_DENIED",
            Rule::PermissionUnknown => "QUAY_PERMISSION_UNKNOWN",
            Rule::PolicyUnknown => "QUAY_POLICY_UNKNOWN",
            Rule::PrototypeUnknown => "QUAY_PROTOTYPE_UNKNOWN",
            Rule::QueueNameInvalid => "QUAY_QUEUE_NAME_INVALID",
            Rule::QuotaExceeded => "QUAY_QUOTA_EXCEEDED",
            Rule::QuotaExists => "QUAY_QUOTA_EXISTS",
            Rule::QuotaLimitExists => "QUAY_QUOTA_LIMIT_EXISTS",
            Rule::QuotaUnknown => "QUAY_QUOTA_UNKNOWN",
            Rule::RepositoryNotMarked => "QUAY_REPOSITORY_NOT_MARKED",
            Rule::RepositoryNotWritable => "QUAY_REPOSITORY_NOT_WRITABLE",
            Rule::RepositoryUnknown => "QUAY_REPOSITORY_UNKNOWN",
            Rule::RobotExists => "QUAY_ROBOT_EXISTS",
            Rule::RobotUnknown => "QUAY_ROBOT_UNKNOWN",
            Rule::StorageLocationUnknown => "QUAY_STORAGE_LOCATION_UNKNOWN",
            Rule::TagImmutable => "QUAY_TAG_IMMUTABLE",
            Rule::TagNameInvalid => "QUAY_TAG_NAME_INVALID",
            Rule::TagNotRestorable => "QUAY_TAG_NOT_RESTORABLE",
            Rule::TagUnknown => "QUAY_TAG_UNKNOWN",
            Rule::TeamNameInvalid => "QUAY_TEAM_NAME_INVALID",
            Rule::TeamUnknown => "QUAY_TEAM_UNKNOWN",
            Rule::TokenUnknown => "QUAY_TOKEN_UNKNOWN",
            Rule::UploadChanged => "QUAY_UPLOAD_CHANGED",
            Rule::UserUnknown => "QUAY_USER_UNKNOWN",
        }
    }

    /// The rule of a stable code (`None` for a code this build does not know).
    pub fn parse(code: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.as_str() == code)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Rule;

    #[test]
    fn codes_round_trip() {
        for r in Rule::ALL {
            assert_eq!(Rule::parse(r.as_str()), Some(*r));
            assert!(r.as_str().starts_with("QUAY_"));
        }
        assert_eq!(Rule::parse("QUAY_NOPE"), None);
    }
}
