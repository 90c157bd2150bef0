//! Quay's `config.yaml`: typed keys with Quay's defaults, unknown keys kept and ignored, and a
//! validation that reports every bad field on its own line with its key path.
//!
//! Loading is two-step so that one bad key never hides another: the file is read as a YAML
//! mapping, then each known key is deserialized on its own (errors are collected, not returned at
//! the first). Mode presets ([`Mode`]) are default values over the same struct, applied before the
//! file's keys.

mod secret;

pub use secret::{DbUri, Secret};

use serde::Deserialize;
use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How the server runs. A preset of configuration values, not a separate code path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// SQLite + local filesystem, everything in one data directory. The default with no config.
    Mirror,
    /// PostgreSQL with the `quay` extension; filesystem or S3 storage.
    Standalone,
    /// Standalone plus read replicas, CDN redirects and a shared cache.
    Full,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Mirror => "mirror",
            Mode::Standalone => "standalone",
            Mode::Full => "full",
        }
    }
}

/// A `FEATURE_*` flag. Like Quay, a string counts as true only when it equals "true" in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            B(bool),
            S(String),
        }
        Ok(Flag(
            match Raw::deserialize(d).map_err(|_| {
                serde::de::Error::custom("expected a boolean (true/false) or the string \"true\"")
            })? {
                Raw::B(b) => b,
                Raw::S(s) => s.eq_ignore_ascii_case("true"),
            },
        ))
    }
}

/// One `DISTRIBUTED_STORAGE_CONFIG` entry: `[DriverName, {params}]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StorageEntry(pub String, #[serde(default)] pub BTreeMap<String, Value>);

impl StorageEntry {
    pub fn driver(&self) -> &str {
        &self.0
    }
    pub fn param_str(&self, key: &str) -> Option<&str> {
        self.1.get(key).and_then(Value::as_str)
    }
    /// A parameter as text, whether YAML gave a string, a number or a boolean.
    pub fn param_text(&self, key: &str) -> Option<String> {
        match self.1.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// `BUILDLOGS_REDIS` and friends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub password: Option<Secret>,
    pub db: Option<u32>,
    pub ssl: Option<bool>,
}

macro_rules! config_keys {
    ($( $(#[$doc:meta])* $key:literal => $field:ident : $ty:ty = $default:expr ; )*) => {
        /// The configuration keys this server understands, with Quay's defaults.
        #[derive(Debug, Clone)]
        #[allow(non_snake_case)]
        pub struct Config {
            $( $(#[$doc])* pub $field: $ty, )*
            /// Keys this server does not know. Kept (so nothing is lost) and otherwise ignored.
            pub extra: BTreeMap<String, Value>,
        }

        impl Config {
            /// Every key [`Config`] understands, in declaration order.
            pub const KNOWN_KEYS: &'static [&'static str] = &[$($key),*];

            /// Quay's defaults (`config.py`), before any mode preset.
            pub fn quay_defaults() -> Self {
                Config { $( $field: $default, )* extra: BTreeMap::new() }
            }

            /// Sets one key from YAML. `Ok(false)` when the key is unknown.
            fn set_key(&mut self, key: &str, value: Value) -> Result<bool, String> {
                match key {
                    $( $key => {
                        self.$field = serde_path_to_error::deserialize(value).map_err(|e| {
                            let path = e.path().to_string();
                            let path = if path == "." { String::new() } else { format!(".{path}") };
                            format!("{}{}: {}", $key, path.replace(".[", "["), e.into_inner())
                        })?;
                        Ok(true)
                    } )*
                    _ => Ok(false),
                }
            }
        }
    };
}

config_keys! {
    /// Our key (Quay ignores it): `mirror`, `standalone` or `full`. Inferred from `DB_URI` if absent.
    "REGISTRY_MODE" => registry_mode: Option<Mode> = None;
    "SERVER_HOSTNAME" => server_hostname: String = "localhost:5000".into();
    "PREFERRED_URL_SCHEME" => preferred_url_scheme: String = "http".into();
    "EXTERNAL_TLS_TERMINATION" => external_tls_termination: bool = false;
    "REGISTRY_TITLE" => registry_title: String = "Project Quay".into();
    "REGISTRY_TITLE_SHORT" => registry_title_short: String = "Project Quay".into();
    "REGISTRY_STATE" => registry_state: String = "normal".into();
    "LIBRARY_NAMESPACE" => library_namespace: String = "library".into();
    "DB_URI" => db_uri: Option<DbUri> = None;
    "DB_CONNECTION_ARGS" => db_connection_args: BTreeMap<String, Value> = BTreeMap::new();
    "DB_READ_REPLICAS" => db_read_replicas: Vec<BTreeMap<String, Value>> = Vec::new();
    "DISTRIBUTED_STORAGE_CONFIG" => distributed_storage_config: BTreeMap<String, StorageEntry> = BTreeMap::new();
    "DISTRIBUTED_STORAGE_PREFERENCE" => distributed_storage_preference: Vec<String> = vec!["local_us".into()];
    /// `None` when the file omits it: Quay's default (`["local_us"]`, see
    /// [`Config::default_locations`]) is then not held against the configured storage names.
    "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS" => distributed_storage_default_locations: Option<Vec<String>> = None;
    "BUILDLOGS_REDIS" => buildlogs_redis: Option<RedisConfig> = None;
    "USER_EVENTS_REDIS" => user_events_redis: Option<RedisConfig> = None;
    "PULL_METRICS_REDIS" => pull_metrics_redis: Option<RedisConfig> = None;
    "SECRET_KEY" => secret_key: Option<Secret> = None;
    "DATABASE_SECRET_KEY" => database_secret_key: Option<Secret> = None;
    "AUTHENTICATION_TYPE" => authentication_type: String = "Database".into();
    "SUPER_USERS" => super_users: Vec<String> = Vec::new();
    "GLOBAL_READONLY_SUPER_USERS" => global_readonly_super_users: Vec<String> = Vec::new();
    "TAG_EXPIRATION_OPTIONS" => tag_expiration_options: Vec<String> = ["0s", "1d", "1w", "2w", "4w"].map(String::from).to_vec();
    "DEFAULT_TAG_EXPIRATION" => default_tag_expiration: String = "2w".into();
    "PUSH_TEMP_TAG_EXPIRATION_SEC" => push_temp_tag_expiration_sec: u64 = 3600;
    "NOTIFICATION_SEND_TIMEOUT" => notification_send_timeout: u64 = 10;
    "MAXIMUM_LAYER_SIZE" => maximum_layer_size: String = "20G".into();
    /// Our key (Quay has no limit of its own): the largest manifest a push may send.
    "MAXIMUM_MANIFEST_SIZE" => maximum_manifest_size: String = "4MiB".into();
    /// Our key: seconds a client has to send a request's headers (and the longest an idle
    /// keep-alive connection is kept) before the connection is closed.
    "HTTP_HEADER_READ_TIMEOUT_S" => http_header_read_timeout_s: u64 = 30;
    /// Our key: seconds a handler waits for the next piece of a request body before it gives up
    /// (408, connection closed).
    "HTTP_BODY_READ_TIMEOUT_S" => http_body_read_timeout_s: u64 = 60;
    /// Quay's key: `/health/warning` fails when the free share of the storage volume (or the
    /// temporary directory's) is below this.
    "DISKSPACE_HEALTH_WARNING_THRESHOLD" => diskspace_health_warning_threshold: f64 = 0.1;
    /// Our key: the proxies whose `X-Forwarded-For` is believed (addresses or CIDRs). A request
    /// from one of them is logged with the address it forwarded for (the nearest untrusted one);
    /// from anyone else, with its own address: clients cannot write their own into the logs.
    "TRUSTED_PROXIES" => trusted_proxies: Vec<String> = ["127.0.0.0/8", "::1/128"].map(String::from).to_vec();
    /// Our key: connections served at once; further clients wait in the listen backlog.
    "HTTP_MAX_CONNECTIONS" => http_max_connections: u32 = 512;
    "V2_PAGINATION_SIZE" => v2_pagination_size: u32 = 50;
    "DISABLE_PUSHES" => disable_pushes: bool = false;
    /// Days after which an unfinished upload is removed (row and storage objects).
    "BLOBUPLOAD_DELETION_DATE_THRESHOLD" => blobupload_deletion_date_threshold: u64 = 2;
    /// Seconds between runs of the stale-upload cleanup.
    "BLOBUPLOAD_CLEANUP_FREQUENCY" => blobupload_cleanup_frequency: u64 = 3600;
    "ACCOUNT_RECOVERY_MODE" => account_recovery_mode: bool = false;
    "CREATE_PRIVATE_REPO_ON_PUSH" => create_private_repo_on_push: bool = true;
    "CREATE_NAMESPACE_ON_PUSH" => create_namespace_on_push: bool = false;
    "INSTANCE_SERVICE_KEY_SERVICE" => instance_service_key_service: String = "quay".into();
    "INSTANCE_SERVICE_KEY_LOCATION" => instance_service_key_location: Option<PathBuf> = None;
    "INSTANCE_SERVICE_KEY_KID_LOCATION" => instance_service_key_kid_location: Option<PathBuf> = None;
    /// Minutes an instance key stays valid after it is published or renewed.
    "INSTANCE_SERVICE_KEY_EXPIRATION" => instance_service_key_expiration: u64 = 120;
    /// Minutes between renewals of this instance's key (must be shorter than the expiration).
    "INSTANCE_SERVICE_KEY_REFRESH" => instance_service_key_refresh: u64 = 55;
    /// Seconds an expired service key is kept before it is deleted.
    "EXPIRED_SERVICE_KEY_TTL_SEC" => expired_service_key_ttl_sec: u64 = 60 * 60 * 24 * 7;
    "REGISTRY_JWT_AUTH_MAX_FRESH_S" => registry_jwt_auth_max_fresh_s: u64 = 3660;
    "FEATURE_ANONYMOUS_ACCESS" => feature_anonymous_access: Flag = Flag(true);
    "FEATURE_ADVERTISE_V2" => feature_advertise_v2: Flag = Flag(true);
    "FEATURE_LIBRARY_SUPPORT" => feature_library_support: Flag = Flag(true);
    "FEATURE_EXTENDED_REPOSITORY_NAMES" => feature_extended_repository_names: Flag = Flag(true);
    "FEATURE_GENERAL_OCI_SUPPORT" => feature_general_oci_support: Flag = Flag(true);
    "FEATURE_REFERRERS_API" => feature_referrers_api: Flag = Flag(true);
    "FEATURE_SPARSE_INDEX" => feature_sparse_index: Flag = Flag(false);
    "FEATURE_PUBLIC_CATALOG" => feature_public_catalog: Flag = Flag(false);
    "FEATURE_SUPER_USERS" => feature_super_users: Flag = Flag(true);
    "FEATURE_SUPERUSERS_FULL_ACCESS" => feature_superusers_full_access: Flag = Flag(false);
    "WEBHOOK_BLOCK_PRIVATE_ADDRESSES" => webhook_block_private_addresses: Flag = Flag(false);
    "FEATURE_IMAGE_EXPIRY_TRIGGER" => feature_image_expiry_trigger: Flag = Flag(false);
    "FEATURE_APP_SPECIFIC_TOKENS" => feature_app_specific_tokens: Flag = Flag(true);
    "FEATURE_USER_CREATION" => feature_user_creation: Flag = Flag(true);
    "FEATURE_DIRECT_LOGIN" => feature_direct_login: Flag = Flag(true);
    "FEATURE_GARBAGE_COLLECTION" => feature_garbage_collection: Flag = Flag(true);
    /// Read for validation only: replication needs `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS` to name
    /// configured locations. This server does not replicate.
    "FEATURE_STORAGE_REPLICATION" => feature_storage_replication: Flag = Flag(false);
    "FEATURE_CHANGE_TAG_EXPIRATION" => feature_change_tag_expiration: Flag = Flag(true);
    /// Names, company and location on accounts (`PUT /api/v1/user/`).
    "FEATURE_USER_METADATA" => feature_user_metadata: Flag = Flag(false);
    "FEATURE_USER_LAST_ACCESSED" => feature_user_last_accessed: Flag = Flag(true);
    /// `POST /api/v1/user/initialize` creates the first user of an empty database (on in the
    /// mirror preset).
    "FEATURE_USER_INITIALIZE" => feature_user_initialize: Flag = Flag(false);
    /// Off here by default (Quay: on): team members are added at once (no invite); e-mail
    /// notifications are sent through `MAIL_SERVER` whatever this says.
    "FEATURE_MAILING" => feature_mailing: Flag = Flag(false);
    /// SMTP for e-mail notifications (Flask-Mail's keys, Quay's defaults).
    "MAIL_SERVER" => mail_server: String = String::new();
    "MAIL_PORT" => mail_port: u16 = 587;
    /// STARTTLS before authenticating (required when `MAIL_USERNAME` is set).
    "MAIL_USE_TLS" => mail_use_tls: Flag = Flag(true);
    "MAIL_USERNAME" => mail_username: Option<String> = None;
    "MAIL_PASSWORD" => mail_password: Option<Secret> = None;
    "MAIL_DEFAULT_SENDER" => mail_default_sender: String = "admin@example.com".into();
    /// Ours: a PEM file of CA certificates the SMTP server's certificate may chain to, besides
    /// the system's (a private mail relay).
    "MAIL_CA_FILE" => mail_ca_file: Option<String> = None;
    /// Storage quotas: the `/api/v1` quota routes and the upload-start check (the totals are
    /// always kept, and a quota's `Reject` limit is always enforced on manifests).
    "FEATURE_QUOTA_MANAGEMENT" => feature_quota_management: Flag = Flag(false);
    "FEATURE_EDIT_QUOTA" => feature_edit_quota: Flag = Flag(true);
    "FEATURE_VERIFY_QUOTA" => feature_verify_quota: Flag = Flag(true);
    /// Auto-prune policies: the `/api/v1` routes (the worker applies whatever policies exist).
    "FEATURE_AUTO_PRUNE" => feature_auto_prune: Flag = Flag(false);
    /// Repository mirroring: here only `PUT /api/v1/repository/{repo}/changestate` (the mirror
    /// configuration routes and the mirror worker are not built).
    "FEATURE_REPO_MIRROR" => feature_repo_mirror: Flag = Flag(false);
    /// How recent a password sign-in must be for sensitive `/api/v1` calls from a browser session.
    "FRESH_LOGIN_TIMEOUT" => fresh_login_timeout: String = "10m".into();
    /// Seconds a browser session lasts.
    "PERMANENT_SESSION_LIFETIME" => permanent_session_lifetime: u64 = 31 * 24 * 3600;
}

/// A size such as `20G`, `4MiB`, `512k` or `1000`: SI units (k, M, G, T; optional `B`) are powers
/// of 1000, IEC units (Ki, Mi, Gi, Ti; optional `B`) powers of 1024.
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let unit = unit.trim();
    let unit = unit.strip_suffix(['B', 'b']).unwrap_or(unit);
    let mult: u64 = match unit {
        "" => 1,
        "k" | "K" => 1_000,
        "M" | "m" => 1_000_000,
        "G" | "g" => 1_000_000_000,
        "T" | "t" => 1_000_000_000_000,
        "Ki" | "ki" => 1 << 10,
        "Mi" | "mi" => 1 << 20,
        "Gi" | "gi" => 1 << 30,
        "Ti" | "ti" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// A `TRUSTED_PROXIES` entry: an address (one host) or a CIDR.
pub fn parse_proxy(text: &str) -> Option<ipnet::IpNet> {
    let t = text.trim();
    t.parse::<ipnet::IpNet>().ok().or_else(|| t.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

/// Where the configuration came from, for messages and relative paths.
#[derive(Debug, Clone)]
pub enum Source {
    /// No `--config`: mirror-mode defaults over a data directory.
    DataDir(PathBuf),
    File(PathBuf),
}

/// Every problem found while loading or validating, one line each (`KEY.path: message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for ConfigErrors {}

/// Which database a configuration names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(DbUri),
}

impl Config {
    /// Mirror-mode defaults over `data_dir`: SQLite at `DIR/quay.db`, blobs under `DIR/storage`.
    pub fn mirror(data_dir: &Path) -> Self {
        let mut c = Config::quay_defaults();
        c.apply_preset(Mode::Mirror, Some(data_dir));
        c
    }

    fn apply_preset(&mut self, mode: Mode, data_dir: Option<&Path>) {
        self.registry_mode = Some(mode);
        match mode {
            Mode::Mirror => {
                self.feature_user_initialize = Flag(true);
                // The management plane a one-person registry wants without a config file.
                self.feature_quota_management = Flag(true);
                self.feature_auto_prune = Flag(true);
                if let Some(dir) = data_dir {
                    self.db_uri = Some(DbUri::new(format!("sqlite:///{}", dir.join("quay.db").display())));
                    let mut params = BTreeMap::new();
                    params.insert(
                        "storage_path".to_string(),
                        Value::String(dir.join("storage").display().to_string()),
                    );
                    self.distributed_storage_config
                        .insert("local_us".into(), StorageEntry("LocalStorage".into(), params));
                }
            }
            Mode::Standalone | Mode::Full => {}
        }
    }

    /// Parses a config file's text. Errors name each bad key.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigErrors> {
        let value: Value = if text.trim().is_empty() {
            Value::Mapping(Mapping::new())
        } else {
            serde_yaml::from_str(text)
                .map_err(|e| ConfigErrors(vec![format!("config is not valid YAML: {e}")]))?
        };
        let map = match value {
            Value::Mapping(m) => m,
            Value::Null => Mapping::new(),
            other => {
                return Err(ConfigErrors(vec![format!(
                    "config must be a YAML mapping of KEY: value, found {}",
                    yaml_kind(&other)
                )]));
            }
        };
        let mut errors = Vec::new();
        let mut cfg = Config::quay_defaults();
        // The mode decides the preset, so it is read before everything else.
        let explicit_mode = map.get("REGISTRY_MODE").cloned();
        if let Some(v) = explicit_mode
            && let Err(e) = cfg.set_key("REGISTRY_MODE", v)
        {
            errors.push(format!("{e} (expected mirror, standalone or full)"));
        }
        for (k, v) in map {
            let Some(key) = k.as_str().map(str::to_string) else {
                errors.push(format!("config keys must be strings, found {}", yaml_kind(&k)));
                continue;
            };
            if key == "REGISTRY_MODE" {
                continue;
            }
            match cfg.set_key(&key, v.clone()) {
                Ok(true) => {}
                Ok(false) => {
                    cfg.extra.insert(key, v);
                }
                Err(e) => errors.push(e),
            }
        }
        if cfg.registry_mode.is_none() {
            let mode = match cfg.database() {
                Ok(Some(Database::Sqlite(_))) => Mode::Mirror,
                _ => Mode::Standalone,
            };
            cfg.apply_preset(mode, None);
        }
        errors.extend(cfg.validate());
        if errors.is_empty() { Ok(cfg) } else { Err(ConfigErrors(errors)) }
    }

    /// Reads and validates a config file.
    pub fn load_file(path: &Path) -> Result<Self, ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigErrors(vec![format!("cannot read config file {}: {e}", path.display())]))?;
        Config::from_yaml(&text)
    }

    pub fn mode(&self) -> Mode {
        self.registry_mode.unwrap_or(Mode::Standalone)
    }

    /// The database `DB_URI` names, or `None` when it is unset.
    pub fn database(&self) -> Result<Option<Database>, String> {
        let Some(uri) = &self.db_uri else { return Ok(None) };
        let raw = uri.expose();
        if let Some(path) = raw.strip_prefix("sqlite:///") {
            if path.is_empty() {
                return Err("DB_URI: sqlite:/// needs a file path".into());
            }
            return Ok(Some(Database::Sqlite(PathBuf::from(path))));
        }
        for prefix in ["postgresql://", "postgres://", "postgresql+psycopg2://"] {
            if let Some(rest) = raw.strip_prefix(prefix) {
                return Ok(Some(Database::Postgres(DbUri::new(format!("postgresql://{rest}")))));
            }
        }
        Err(format!(
            "DB_URI: unsupported database {}: expected postgresql://... or sqlite:///...",
            uri.redacted()
        ))
    }

    /// The storage location to use: the first of `DISTRIBUTED_STORAGE_PREFERENCE`.
    pub fn primary_storage(&self) -> Option<(&str, &StorageEntry)> {
        let name = self.distributed_storage_preference.first()?;
        self.distributed_storage_config.get(name).map(|e| (name.as_str(), e))
    }

    /// `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS`, or Quay's default `["local_us"]` when unset.
    pub fn default_locations(&self) -> &[String] {
        static QUAY_DEFAULT: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| vec!["local_us".to_string()]);
        self.distributed_storage_default_locations.as_deref().unwrap_or(&QUAY_DEFAULT)
    }

    /// One line per entry of `list` that `DISTRIBUTED_STORAGE_CONFIG` does not define (nothing when
    /// that key is itself missing: it is reported on its own).
    fn check_locations(&self, key: &str, list: &[String], note: &str, errs: &mut Vec<String>) {
        if self.distributed_storage_config.is_empty() {
            return;
        }
        for (i, loc) in list.iter().enumerate() {
            if !self.distributed_storage_config.contains_key(loc) {
                errs.push(format!(
                    "{key}[{i}]: {loc:?} is not a location in DISTRIBUTED_STORAGE_CONFIG{note}"
                ));
            }
        }
    }

    /// Semantic checks; one line per problem, each naming its key.
    pub fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        for (i, p) in self.trusted_proxies.iter().enumerate() {
            if parse_proxy(p).is_none() {
                errs.push(format!("TRUSTED_PROXIES[{i}]: {p:?} is not an address or CIDR (e.g. 10.0.0.0/8)"));
            }
        }
        if !matches!(self.preferred_url_scheme.as_str(), "http" | "https") {
            errs.push(format!(
                "PREFERRED_URL_SCHEME: must be http or https, got {:?}",
                self.preferred_url_scheme
            ));
        }
        for (key, value) in [
            ("MAXIMUM_LAYER_SIZE", &self.maximum_layer_size),
            ("MAXIMUM_MANIFEST_SIZE", &self.maximum_manifest_size),
        ] {
            if parse_bytes(value).is_none() {
                errs.push(format!("{key}: {value:?} is not a size (e.g. 20G, 4MiB)"));
            }
        }
        if !matches!(self.registry_state.as_str(), "normal" | "readonly") {
            errs.push(format!("REGISTRY_STATE: must be normal or readonly, got {:?}", self.registry_state));
        }
        if self.server_hostname.trim().is_empty() || self.server_hostname.contains('/') {
            errs.push(format!(
                "SERVER_HOSTNAME: must be host[:port] without a scheme or path, got {:?}",
                self.server_hostname
            ));
        }
        const AUTH_TYPES: [&str; 6] = ["Database", "LDAP", "JWT", "Keystone", "OIDC", "AppToken"];
        if !AUTH_TYPES.contains(&self.authentication_type.as_str()) {
            errs.push(format!(
                "AUTHENTICATION_TYPE: must be one of {}, got {:?}",
                AUTH_TYPES.join(", "),
                self.authentication_type
            ));
        } else if self.authentication_type != "Database" {
            errs.push(format!(
                "AUTHENTICATION_TYPE: {} is not supported by this server yet (only Database)",
                self.authentication_type
            ));
        }
        match self.database() {
            Err(e) => errs.push(e),
            Ok(None) => errs.push("DB_URI: required".into()),
            Ok(Some(Database::Sqlite(_))) if self.mode() != Mode::Mirror => errs.push(format!(
                "DB_URI: a sqlite database needs REGISTRY_MODE mirror, not {}",
                self.mode().as_str()
            )),
            Ok(Some(Database::Postgres(_))) if self.mode() == Mode::Mirror => {
                errs.push("DB_URI: mirror mode runs on sqlite:///..., not PostgreSQL".into())
            }
            Ok(_) => {}
        }
        if self.distributed_storage_config.is_empty() {
            errs.push("DISTRIBUTED_STORAGE_CONFIG: required (at least one storage location)".into());
        }
        for (name, entry) in &self.distributed_storage_config {
            match entry.driver() {
                "LocalStorage" | "S3Storage" => {}
                other => errs.push(format!(
                    "DISTRIBUTED_STORAGE_CONFIG.{name}[0]: storage driver {other:?} is not supported (LocalStorage, S3Storage)"
                )),
            }
            match entry.1.get("storage_path") {
                None => errs.push(format!("DISTRIBUTED_STORAGE_CONFIG.{name}[1].storage_path: required")),
                Some(Value::String(_)) => {}
                Some(other) => errs.push(format!(
                    "DISTRIBUTED_STORAGE_CONFIG.{name}[1].storage_path: must be a string, found {}",
                    yaml_kind(other)
                )),
            }
            if entry.driver() == "S3Storage" && entry.param_str("s3_bucket").is_none() {
                errs.push(format!("DISTRIBUTED_STORAGE_CONFIG.{name}[1].s3_bucket: required for S3Storage"));
            }
        }
        let preference = &self.distributed_storage_preference;
        if preference.is_empty() {
            errs.push("DISTRIBUTED_STORAGE_PREFERENCE: must name at least one storage location".into());
        }
        self.check_locations("DISTRIBUTED_STORAGE_PREFERENCE", preference, "", &mut errs);
        // Quay reads DEFAULT_LOCATIONS only to replicate, and a config that omits it gets
        // `["local_us"]` whatever its storage is called (Quay's own docs name it `default`), so
        // the default is checked only when replication would use it.
        match &self.distributed_storage_default_locations {
            Some(list) => self.check_locations("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS", list, "", &mut errs),
            None if self.feature_storage_replication.0 => self.check_locations(
                "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS",
                self.default_locations(),
                " (the default when the key is unset; FEATURE_STORAGE_REPLICATION needs it to name configured locations)",
                &mut errs,
            ),
            None => {}
        }
        for (key, value) in [
            ("HTTP_HEADER_READ_TIMEOUT_S", self.http_header_read_timeout_s),
            ("HTTP_BODY_READ_TIMEOUT_S", self.http_body_read_timeout_s),
            ("HTTP_MAX_CONNECTIONS", u64::from(self.http_max_connections)),
        ] {
            if value == 0 {
                errs.push(format!("{key}: must be at least 1"));
            }
        }
        if self.instance_service_key_expiration == 0 {
            errs.push("INSTANCE_SERVICE_KEY_EXPIRATION: must be at least 1 (minutes)".into());
        } else if self.instance_service_key_refresh == 0
            || self.instance_service_key_refresh >= self.instance_service_key_expiration
        {
            errs.push(format!(
                "INSTANCE_SERVICE_KEY_REFRESH: must be at least 1 and less than INSTANCE_SERVICE_KEY_EXPIRATION ({} minutes), got {}; the key would lapse between renewals",
                self.instance_service_key_expiration, self.instance_service_key_refresh
            ));
        }
        for (i, opt) in self.tag_expiration_options.iter().enumerate() {
            if let Err(e) = quay_core::duration::parse_seconds(opt) {
                errs.push(format!("TAG_EXPIRATION_OPTIONS[{i}]: {e}"));
            }
        }
        if let Err(e) = quay_core::duration::parse_seconds(&self.fresh_login_timeout) {
            errs.push(format!("FRESH_LOGIN_TIMEOUT: {e}"));
        }
        if let Err(e) = quay_core::duration::parse_seconds(&self.default_tag_expiration) {
            errs.push(format!("DEFAULT_TAG_EXPIRATION: {e}"));
        } else if !self.tag_expiration_options.contains(&self.default_tag_expiration) {
            errs.push(format!(
                "DEFAULT_TAG_EXPIRATION: {:?} is not one of TAG_EXPIRATION_OPTIONS",
                self.default_tag_expiration
            ));
        }
        for (key, redis) in [
            ("BUILDLOGS_REDIS", &self.buildlogs_redis),
            ("USER_EVENTS_REDIS", &self.user_events_redis),
            ("PULL_METRICS_REDIS", &self.pull_metrics_redis),
        ] {
            if let Some(r) = redis
                && r.host.as_deref().unwrap_or("").is_empty()
            {
                errs.push(format!("{key}.host: required"));
            }
        }
        if self.mode() != Mode::Mirror && self.database_secret_key.is_none() {
            errs.push(
                "DATABASE_SECRET_KEY: required outside mirror mode (it encrypts robot and app tokens)".into(),
            );
        }
        errs
    }

    /// The namespace time-machine window for new users, from `DEFAULT_TAG_EXPIRATION`.
    /// `MAXIMUM_LAYER_SIZE` in bytes (20 GB when unparsable; `validate` reports it).
    pub fn maximum_layer_bytes(&self) -> u64 {
        parse_bytes(&self.maximum_layer_size).unwrap_or(20_000_000_000)
    }

    /// `MAXIMUM_MANIFEST_SIZE` in bytes (4 MiB when unparsable).
    pub fn maximum_manifest_bytes(&self) -> u64 {
        parse_bytes(&self.maximum_manifest_size).unwrap_or(4 << 20)
    }

    /// `REGISTRY_STATE: readonly`: pulls only, every write refused.
    pub fn read_only(&self) -> bool {
        self.registry_state == "readonly"
    }

    /// `HTTP_HEADER_READ_TIMEOUT_S` (at least 1 s, at most a day: timer arithmetic must not
    /// overflow).
    pub fn http_header_read_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.http_header_read_timeout_s.clamp(1, 86_400))
    }

    /// `HTTP_BODY_READ_TIMEOUT_S` (at least 1 s, at most a day).
    pub fn http_body_read_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.http_body_read_timeout_s.clamp(1, 86_400))
    }

    /// `INSTANCE_SERVICE_KEY_EXPIRATION` in seconds (capped at ten years so the database's
    /// timestamp arithmetic cannot overflow).
    pub fn instance_key_expiration_s(&self) -> i64 {
        const TEN_YEARS_S: u64 = 10 * 366 * 24 * 3600;
        self.instance_service_key_expiration.saturating_mul(60).min(TEN_YEARS_S) as i64
    }

    /// `INSTANCE_SERVICE_KEY_REFRESH` as a period (at least one second).
    pub fn instance_key_refresh(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.instance_service_key_refresh.saturating_mul(60).max(1))
    }

    /// `FRESH_LOGIN_TIMEOUT` in seconds.
    pub fn fresh_login_timeout_s(&self) -> i64 {
        quay_core::duration::parse_seconds(&self.fresh_login_timeout).map_or(600, |s| s as i64)
    }

    /// The base of absolute URLs this server names (`PREFERRED_URL_SCHEME://SERVER_HOSTNAME`).
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.preferred_url_scheme, self.server_hostname)
    }

    pub fn default_tag_expiration_s(&self) -> u64 {
        quay_core::duration::parse_seconds(&self.default_tag_expiration).unwrap_or(1_209_600)
    }
}

fn yaml_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
SERVER_HOSTNAME: quay.example.com
PREFERRED_URL_SCHEME: https
DB_URI: postgresql://quay:pw@db:5432/quay
DATABASE_SECRET_KEY: 12345678
SECRET_KEY: abc
DISTRIBUTED_STORAGE_CONFIG:
  default:
    - LocalStorage
    - storage_path: /datastorage/registry
DISTRIBUTED_STORAGE_PREFERENCE: [default]
DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [default]
FEATURE_ANONYMOUS_ACCESS: "False"
FEATURE_PUBLIC_CATALOG: "TRUE"
SOME_FUTURE_KEY: {nested: 1}
"#;

    #[test]
    fn parses_quay_config_and_keeps_unknown_keys() {
        let c = Config::from_yaml(GOOD).expect("valid");
        assert_eq!(c.mode(), Mode::Standalone);
        assert_eq!(c.server_hostname, "quay.example.com");
        assert_eq!(c.feature_anonymous_access, Flag(false));
        assert_eq!(c.feature_public_catalog, Flag(true));
        assert_eq!(c.database_secret_key.as_ref().map(Secret::expose), Some("12345678"));
        assert!(c.extra.contains_key("SOME_FUTURE_KEY"));
        assert_eq!(c.primary_storage().map(|(n, e)| (n, e.driver())), Some(("default", "LocalStorage")));
        assert_eq!(c.default_tag_expiration_s(), 1_209_600);
        assert_eq!(
            c.database(),
            Ok(Some(Database::Postgres(DbUri::new("postgresql://quay:pw@db:5432/quay"))))
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = Config::from_yaml(GOOD).expect("valid");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("12345678"), "{dbg}");
        assert!(!dbg.contains("quay:pw@"), "{dbg}");
        assert!(dbg.contains("postgresql://quay:***@db:5432/quay"));
    }

    #[test]
    fn reports_every_bad_field_with_its_path() {
        let text = r#"
PREFERRED_URL_SCHEME: ftp
DB_URI: mysql://x
FEATURE_ANONYMOUS_ACCESS: [1]
V2_PAGINATION_SIZE: lots
DISTRIBUTED_STORAGE_CONFIG:
  default: [LocalStorage, {storage_path: 7}]
  other: [LocalStorage, {}]
DISTRIBUTED_STORAGE_PREFERENCE: [missing]
TAG_EXPIRATION_OPTIONS: ["1y"]
"#;
        let errs = Config::from_yaml(text).expect_err("invalid").0;
        let joined = errs.join("\n");
        for needle in [
            "PREFERRED_URL_SCHEME: must be http or https",
            "DB_URI: unsupported database mysql://x",
            "FEATURE_ANONYMOUS_ACCESS: expected a boolean",
            "V2_PAGINATION_SIZE: invalid type: string \"lots\"",
            "DISTRIBUTED_STORAGE_CONFIG.default[1].storage_path: must be a string, found a number",
            "DISTRIBUTED_STORAGE_CONFIG.other[1].storage_path: required",
            "DISTRIBUTED_STORAGE_PREFERENCE[0]: \"missing\" is not a location",
            "TAG_EXPIRATION_OPTIONS[0]: \"1y\" is not a duration",
            "DEFAULT_TAG_EXPIRATION: \"2w\" is not one of TAG_EXPIRATION_OPTIONS",
        ] {
            assert!(joined.contains(needle), "missing {needle:?} in:\n{joined}");
        }
        assert!(errs.iter().all(|l| !l.contains('\n')), "one line per problem: {errs:?}");

        let errs =
            Config::from_yaml("DISTRIBUTED_STORAGE_CONFIG: {x: [LocalStorage, {storage_path: /x}, extra]}")
                .expect_err("invalid")
                .0;
        assert!(errs[0].starts_with("DISTRIBUTED_STORAGE_CONFIG.x: invalid length 3"), "{errs:?}");
    }

    /// Quay's documented minimal config (LocalStorage named `default`), which omits
    /// `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS` as many operators' files do.
    const QUAY_DOCS_LOCAL: &str = r#"
AUTHENTICATION_TYPE: Database
BUILDLOGS_REDIS:
  host: quay-server.example.com
  password: strongpassword
  port: 6379
DATABASE_SECRET_KEY: 0ce4f796-c295-415b-bf9d-b315114704b8
DB_URI: postgresql://quayuser:quaypass@quay-server.example.com:5432/quay
DEFAULT_TAG_EXPIRATION: 2w
DISTRIBUTED_STORAGE_CONFIG:
  default:
    - LocalStorage
    - storage_path: /datastorage/registry
DISTRIBUTED_STORAGE_PREFERENCE:
  - default
FEATURE_MAILING: false
PREFERRED_URL_SCHEME: http
SECRET_KEY: e8f9fdf0-38c1-4a86-8ba6-c5e2d7b4d4c0
SERVER_HOSTNAME: quay-server.example.com
SETUP_COMPLETE: true
TAG_EXPIRATION_OPTIONS:
  - 2w
USER_EVENTS_REDIS:
  host: quay-server.example.com
  port: 6379
"#;

    /// An S3 deployment whose one location is `s3_us_east`, again without DEFAULT_LOCATIONS.
    const QUAY_DOCS_S3: &str = r#"
SERVER_HOSTNAME: quay.example.com
PREFERRED_URL_SCHEME: https
DB_URI: postgresql://quay:pw@db:5432/quay
DATABASE_SECRET_KEY: k
SECRET_KEY: s
DISTRIBUTED_STORAGE_CONFIG:
  s3_us_east:
    - S3Storage
    - host: s3.us-east-1.amazonaws.com
      s3_access_key: AKIAEXAMPLE
      s3_secret_key: secretexample
      s3_bucket: quay-registry
      s3_region: us-east-1
      storage_path: /datastorage/registry
DISTRIBUTED_STORAGE_PREFERENCE:
  - s3_us_east
"#;

    #[test]
    fn quay_configs_without_default_locations_are_accepted() {
        let c = Config::from_yaml(QUAY_DOCS_LOCAL).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.primary_storage().map(|(n, e)| (n, e.driver())), Some(("default", "LocalStorage")));
        assert_eq!(c.distributed_storage_default_locations, None);
        assert_eq!(c.default_locations(), ["local_us".to_string()]);
        let c = Config::from_yaml(QUAY_DOCS_S3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.primary_storage().map(|(n, e)| (n, e.driver())), Some(("s3_us_east", "S3Storage")));
        // The local-dev stack's spelling: an explicit empty list.
        let text = format!("{QUAY_DOCS_LOCAL}DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: []\n");
        assert_eq!(Config::from_yaml(&text).expect("valid").default_locations(), Vec::<String>::new());
    }

    #[test]
    fn default_locations_checked_when_set_or_replicating() {
        // Set explicitly: every entry must be a configured location.
        let text = format!("{QUAY_DOCS_S3}DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [s3_us_east, local_us]\n");
        let errs = Config::from_yaml(&text).expect_err("invalid").0;
        assert_eq!(
            errs,
            vec![
                "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS[1]: \"local_us\" is not a location in DISTRIBUTED_STORAGE_CONFIG"
                    .to_string()
            ]
        );
        let text = format!("{QUAY_DOCS_S3}DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [s3_us_east]\n");
        assert!(Config::from_yaml(&text).is_ok());
        // Replication uses the default when the key is unset, so then the default must exist.
        let text = format!("{QUAY_DOCS_S3}FEATURE_STORAGE_REPLICATION: true\n");
        let errs = Config::from_yaml(&text).expect_err("invalid").0;
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS[0]: \"local_us\" is not a location")
                && errs[0].contains("FEATURE_STORAGE_REPLICATION"),
            "{errs:?}"
        );
        let text = format!(
            "{QUAY_DOCS_S3}FEATURE_STORAGE_REPLICATION: true\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [s3_us_east]\n"
        );
        assert!(Config::from_yaml(&text).is_ok());
        // The preference is still checked whatever replication says.
        let text = QUAY_DOCS_S3.replace("  - s3_us_east\n", "  - s3_us_west\n");
        let errs = Config::from_yaml(&text).expect_err("invalid").0;
        assert_eq!(
            errs,
            vec![
                "DISTRIBUTED_STORAGE_PREFERENCE[0]: \"s3_us_west\" is not a location in DISTRIBUTED_STORAGE_CONFIG"
                    .to_string()
            ]
        );
    }

    #[test]
    fn instance_key_expiry_and_refresh() {
        let c = Config::from_yaml(GOOD).expect("valid");
        assert_eq!(c.instance_key_expiration_s(), 120 * 60);
        assert_eq!(c.instance_key_refresh(), std::time::Duration::from_secs(55 * 60));
        assert_eq!(c.expired_service_key_ttl_sec, 7 * 86400);
        let text = format!("{GOOD}INSTANCE_SERVICE_KEY_EXPIRATION: 30\nINSTANCE_SERVICE_KEY_REFRESH: 10\n");
        assert_eq!(Config::from_yaml(&text).expect("valid").instance_key_expiration_s(), 1800);
        let text = format!("{GOOD}INSTANCE_SERVICE_KEY_EXPIRATION: 30\nINSTANCE_SERVICE_KEY_REFRESH: 30\n");
        let errs = Config::from_yaml(&text).expect_err("refresh not shorter").0;
        assert!(errs.len() == 1 && errs[0].starts_with("INSTANCE_SERVICE_KEY_REFRESH: must be"), "{errs:?}");
        let errs =
            Config::from_yaml(&format!("{GOOD}INSTANCE_SERVICE_KEY_EXPIRATION: 0\n")).expect_err("zero").0;
        assert_eq!(errs, vec!["INSTANCE_SERVICE_KEY_EXPIRATION: must be at least 1 (minutes)".to_string()]);
        let huge = format!("{GOOD}INSTANCE_SERVICE_KEY_EXPIRATION: 18446744073709551615\n");
        assert!(Config::from_yaml(&huge).expect("valid").instance_key_expiration_s() < 400 * 86400 * 10);
    }

    #[test]
    fn http_limits() {
        let c = Config::from_yaml(GOOD).expect("valid");
        assert_eq!(c.http_header_read_timeout(), std::time::Duration::from_secs(30));
        assert_eq!(c.http_body_read_timeout(), std::time::Duration::from_secs(60));
        assert_eq!(c.http_max_connections, 512);
        let text = format!("{GOOD}HTTP_HEADER_READ_TIMEOUT_S: 0\nHTTP_MAX_CONNECTIONS: 0\n");
        let errs = Config::from_yaml(&text).expect_err("zero").0;
        assert_eq!(
            errs,
            vec![
                "HTTP_HEADER_READ_TIMEOUT_S: must be at least 1".to_string(),
                "HTTP_MAX_CONNECTIONS: must be at least 1".to_string()
            ]
        );
        let huge = format!("{GOOD}HTTP_BODY_READ_TIMEOUT_S: 18446744073709551615\n");
        let c = Config::from_yaml(&huge).expect("valid");
        assert_eq!(c.http_body_read_timeout(), std::time::Duration::from_secs(86_400));
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("20G"), Some(20_000_000_000));
        assert_eq!(parse_bytes("4MiB"), Some(4 << 20));
        assert_eq!(parse_bytes("512k"), Some(512_000));
        assert_eq!(parse_bytes("1000"), Some(1000));
        assert_eq!(parse_bytes("2 Gi"), Some(2 << 30));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("5X"), None);
    }

    #[test]
    fn malformed_yaml_is_one_line() {
        let errs = Config::from_yaml("DB_URI: [unclosed").expect_err("invalid").0;
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("config is not valid YAML"), "{errs:?}");
        let errs = Config::from_yaml("- a\n- b").expect_err("invalid").0;
        assert_eq!(errs, vec!["config must be a YAML mapping of KEY: value, found a list".to_string()]);
    }

    #[test]
    fn sqlite_uri_selects_mirror_preset() {
        let text = "DB_URI: sqlite:////var/lib/quay/quay.db\nDISTRIBUTED_STORAGE_CONFIG: {local_us: [LocalStorage, {storage_path: /s}]}\n";
        let c = Config::from_yaml(text).expect("valid");
        assert_eq!(c.mode(), Mode::Mirror);
        assert_eq!(c.database(), Ok(Some(Database::Sqlite("/var/lib/quay/quay.db".into()))));
    }

    #[test]
    fn mirror_defaults_live_in_the_data_dir() {
        let c = Config::mirror(Path::new("/tmp/qd"));
        assert_eq!(c.validate(), Vec::<String>::new());
        assert_eq!(c.database(), Ok(Some(Database::Sqlite("/tmp/qd/quay.db".into()))));
        assert_eq!(
            c.primary_storage().and_then(|(_, e)| e.param_str("storage_path")),
            Some("/tmp/qd/storage")
        );
    }
}
