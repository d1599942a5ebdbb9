//! Settings from the environment (DESIGN §4), validated once at start-up.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::{SecretBox, SecretString};
use url::Url;

use crate::domain::links::parse_http_url;
use crate::limits::TrustedProxies;

mod env;

pub use env::{Env, Key, Keys};

/// The session cookie key must be at least this long (actix `Key::from` needs 64 bytes).
pub const MIN_SECRET_KEY_BYTES: usize = 64;
/// AES-256 needs exactly a 32-byte key.
pub const ENCRYPTION_KEY_BYTES: usize = 32;
/// A browser opens about six connections per site; an office behind one address has many
/// browsers. A single attacker held ~20,000 before there was a limit.
pub const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: usize = 256;
/// One live-status socket per open dashboard tab.
pub const DEFAULT_MAX_WEBSOCKETS_PER_USER: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Everything the service needs to run, already parsed and checked.
pub struct Settings {
    pub database_url: SecretString,
    pub backend_service_url: Url,
    pub secret_key: SecretBox<Vec<u8>>,
    pub encryption_key: Key,
    pub encryption_keys_previous: Vec<Key>,
    pub scheduler_timezone: chrono_tz::Tz,
    pub bind_address: SocketAddr,
    pub debug: bool,
    pub log_level: String,
    pub log_format: LogFormat,
    pub auth_cache_ttl: Duration,
    pub metrics_token: Option<SecretString>,
    pub allow_private_integration_hosts: bool,
    /// Per-request timeout for calls to Jira and GitHub (`INTEGRATION_TIMEOUT_SECONDS`, default 30).
    pub integration_timeout: Duration,
    /// A RUNNING job whose heartbeat is older than this was left by a dead process and is
    /// recovered (`JOB_LEASE_SECONDS`, default 30, 3–600).
    pub job_lease: Duration,
    /// Replicas on one PostgreSQL: how long the leader's lease lasts unless renewed; a dead or
    /// cut-off leader is replaced within about this long (`LEADER_LEASE_SECONDS`, default 15, 3–600).
    pub leader_lease: Duration,
    /// Reverse proxies whose forwarding headers are believed (`TRUSTED_PROXIES`, default none).
    pub trusted_proxies: TrustedProxies,
    /// Open connections allowed per client address (`MAX_CONNECTIONS_PER_CLIENT`, default 256,
    /// 0 = no limit).
    pub max_connections_per_client: usize,
    /// Live-status WebSockets allowed per user (`MAX_WEBSOCKETS_PER_USER`, default 32, 0 = no
    /// limit).
    pub max_websockets_per_user: usize,
    /// `Secure` flag (and `__Host-` prefix) on the session cookie. Off only with `DEBUG`
    /// or in the loopback-only demo, which serves plain HTTP.
    pub cookie_secure: bool,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &"[REDACTED]")
            .field("backend_service_url", &self.backend_service_url.as_str())
            .field("scheduler_timezone", &self.scheduler_timezone)
            .field("bind_address", &self.bind_address)
            .field("debug", &self.debug)
            .field("log_level", &self.log_level)
            .field("log_format", &self.log_format)
            .field("auth_cache_ttl", &self.auth_cache_ttl)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "[REDACTED]"))
            .field("allow_private_integration_hosts", &self.allow_private_integration_hosts)
            .field("cookie_secure", &self.cookie_secure)
            .finish_non_exhaustive()
    }
}

/// Every problem found in the environment, reported together.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError(pub Vec<String>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {}", self.0.join("; "))
    }
}

impl std::error::Error for ConfigError {}

impl Settings {
    /// Reads the process environment (and `.env` if present).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(Env::process())
    }

    /// Builds settings from any key → value lookup; used by `from_env`, the demo and tests.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(Env::new(get))
    }

    fn read(mut env: Env<'_>) -> Result<Self, ConfigError> {
        let database_url = env.database_url();
        let backend_service_url = env
            .required("BACKEND_SERVICE_URL")
            .and_then(|raw| match parse_http_url(&raw) {
                Ok(url) => Some(url),
                Err(why) => {
                    env.problem(format!("BACKEND_SERVICE_URL {why}"));
                    None
                }
            });
        let secret_key = env.required("SECRET_KEY").and_then(|key| {
            if key.len() >= MIN_SECRET_KEY_BYTES {
                Some(key.into_bytes())
            } else {
                env.problem(format!(
                    "SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes (got {})",
                    key.len()
                ));
                None
            }
        });
        let keys = env.encryption_keys();
        let scheduler_timezone = match env.value("SCHEDULER_TIMEZONE") {
            None => chrono_tz::UTC,
            Some(tz) => tz.parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
                env.problem(format!("SCHEDULER_TIMEZONE {tz:?} is not an IANA time zone"));
                chrono_tz::UTC
            }),
        };
        let bind_address = match env.value("BIND_ADDRESS") {
            None => SocketAddr::from(([127, 0, 0, 1], 8000)),
            Some(addr) => addr.parse().unwrap_or_else(|_| {
                env.problem(format!("BIND_ADDRESS {addr:?} is not host:port (e.g. 127.0.0.1:8000)"));
                SocketAddr::from(([127, 0, 0, 1], 8000))
            }),
        };
        let debug = env.flag("DEBUG");
        let (log_level, log_format) = logging(&mut env);
        let auth_cache_ttl = env.seconds("AUTH_CACHE_TTL_SECONDS", Duration::from_secs(30), 0..=3600);
        let outbound = OutboundSettings::read(&mut env);
        let job_lease = env.seconds("JOB_LEASE_SECONDS", crate::orchestrator::LEASE, 3..=600);
        let leader_lease = env.seconds("LEADER_LEASE_SECONDS", crate::orchestrator::LEADER_LEASE, 3..=600);
        let trusted_proxies = match env.value("TRUSTED_PROXIES") {
            None => TrustedProxies::default(),
            Some(list) => TrustedProxies::parse(&list).unwrap_or_else(|why| {
                env.problem(format!("TRUSTED_PROXIES {why}"));
                TrustedProxies::default()
            }),
        };
        let max_connections_per_client = env.number(
            "MAX_CONNECTIONS_PER_CLIENT",
            DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
            0..=1_000_000,
            "0 for no limit",
        );
        let max_websockets_per_user = env.number(
            "MAX_WEBSOCKETS_PER_USER",
            DEFAULT_MAX_WEBSOCKETS_PER_USER,
            0..=1_000_000,
            "0 for no limit",
        );
        let metrics_token = env.value("METRICS_TOKEN").map(SecretString::from);
        let settings = match (database_url, backend_service_url, secret_key, keys) {
            (Some(database_url), Some(backend_service_url), Some(secret_key), Some(keys)) => Some(Settings {
                database_url,
                backend_service_url,
                secret_key: SecretBox::new(Box::new(secret_key)),
                encryption_key: keys.current,
                encryption_keys_previous: keys.previous,
                scheduler_timezone,
                bind_address,
                debug,
                log_level,
                log_format,
                auth_cache_ttl,
                metrics_token,
                allow_private_integration_hosts: outbound.allow_private_hosts,
                integration_timeout: outbound.timeout,
                job_lease,
                leader_lease,
                trusted_proxies,
                max_connections_per_client,
                max_websockets_per_user,
                cookie_secure: !debug,
            }),
            _ => None,
        };
        env.finish(settings)
    }
}

/// How calls to Jira and GitHub go out (`ALLOW_PRIVATE_INTEGRATION_HOSTS`,
/// `INTEGRATION_TIMEOUT_SECONDS`).
#[derive(Clone, Copy, Debug)]
pub struct OutboundSettings {
    pub allow_private_hosts: bool,
    pub timeout: Duration,
}

impl OutboundSettings {
    fn read(env: &mut Env<'_>) -> Self {
        Self {
            allow_private_hosts: env.flag("ALLOW_PRIVATE_INTEGRATION_HOSTS"),
            timeout: env.seconds("INTEGRATION_TIMEOUT_SECONDS", Duration::from_secs(30), 1..=600),
        }
    }
}

/// What `pulse-etl sync` needs: the database, the credential keys and the outbound rules.
pub struct SyncSettings {
    pub database_url: SecretString,
    pub keys: Keys,
    pub outbound: OutboundSettings,
    /// The log goes to stderr (stdout keeps the outcome line of `--json`).
    pub log_level: String,
    pub log_format: LogFormat,
}

/// `LOG_LEVEL` (a tracing filter, default `info`) and `LOG_FORMAT` (`text` or `json`).
fn logging(env: &mut Env<'_>) -> (String, LogFormat) {
    let log_level = env.value("LOG_LEVEL").unwrap_or_else(|| "info".into());
    if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
        env.problem(format!(
            "LOG_LEVEL {log_level:?} is not a tracing filter (e.g. info or pulse_etl=debug)"
        ));
    }
    let log_format = match env.value("LOG_FORMAT").map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            env.problem(format!("LOG_FORMAT must be text or json (got {other:?})"));
            LogFormat::Text
        }
    };
    (log_level, log_format)
}

impl SyncSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(Env::process())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(Env::new(get))
    }

    fn read(mut env: Env<'_>) -> Result<Self, ConfigError> {
        let database_url = env.database_url();
        let keys = env.encryption_keys();
        let outbound = OutboundSettings::read(&mut env);
        let (log_level, log_format) = logging(&mut env);
        let settings = database_url.zip(keys).map(|(database_url, keys)| SyncSettings {
            database_url,
            keys,
            outbound,
            log_level,
            log_format,
        });
        env.finish(settings)
    }
}

/// What `pulse-etl rotate-key` needs: the database and the keys (the current one re-encrypts).
pub struct RotateSettings {
    pub database_url: SecretString,
    pub keys: Keys,
}

impl RotateSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut env = Env::process();
        let database_url = env.database_url();
        let keys = env.encryption_keys();
        let settings = database_url
            .zip(keys)
            .map(|(database_url, keys)| RotateSettings { database_url, keys });
        env.finish(settings)
    }
}

/// What `pulse-etl migrate` needs: the database.
pub fn database_url_from_env() -> Result<SecretString, ConfigError> {
    let mut env = Env::process();
    let url = env.database_url();
    env.finish(url)
}

/// Decodes a base64 AES-256 key, saying what is wrong with it otherwise.
pub fn decode_key(raw: &str) -> Result<[u8; ENCRYPTION_KEY_BYTES], String> {
    let bytes = BASE64
        .decode(raw.trim())
        .map_err(|_| "must be base64 (e.g. from `openssl rand -base64 32`)".to_string())?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("must decode to {ENCRYPTION_KEY_BYTES} bytes (got {})", b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn good() -> HashMap<&'static str, String> {
        HashMap::from([
            ("DATABASE_URL", "sqlite://x.db?mode=rwc".to_string()),
            ("BACKEND_SERVICE_URL", "http://127.0.0.1:9000".to_string()),
            ("SECRET_KEY", "k".repeat(64)),
            ("ENCRYPTION_KEY", BASE64.encode([7u8; 32])),
        ])
    }

    fn load(env: &HashMap<&'static str, String>) -> Result<Settings, ConfigError> {
        Settings::from_lookup(|k| env.get(k).cloned())
    }

    #[test]
    fn a_complete_environment_loads_with_defaults() {
        let s = load(&good()).expect("valid settings");
        assert_eq!(s.bind_address.to_string(), "127.0.0.1:8000");
        assert_eq!(s.scheduler_timezone, chrono_tz::UTC);
        assert_eq!(s.auth_cache_ttl, Duration::from_secs(30));
        assert!(s.cookie_secure);
        assert!(!s.allow_private_integration_hosts);
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let mut env = good();
        env.remove("DATABASE_URL");
        env.insert("SECRET_KEY", "short".into());
        env.insert("ENCRYPTION_KEY", "not base64!".into());
        env.insert("SCHEDULER_TIMEZONE", "Mars/Olympus".into());
        env.insert("DEBUG", "maybe".into());
        let err = load(&env).expect_err("must fail");
        let text = err.to_string();
        for needle in [
            "DATABASE_URL is required",
            "SECRET_KEY must be at least 64",
            "ENCRYPTION_KEY must be base64",
            "SCHEDULER_TIMEZONE",
            "DEBUG must be true or false",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from {text}");
        }
        assert!(!text.contains('\n'), "one line: {text}");
    }

    #[test]
    fn encryption_key_must_be_32_bytes() {
        let mut env = good();
        env.insert("ENCRYPTION_KEY", BASE64.encode([1u8; 16]));
        let err = load(&env).expect_err("must fail");
        assert!(err.to_string().contains("32 bytes (got 16)"), "{err}");
    }

    /// `sync` reads the shared variables with the same rules as `serve` (it used to take `on`
    /// as false, drop bad previous keys and turn a bad timeout into 30 s).
    #[test]
    fn sync_reads_the_shared_variables_like_serve() {
        let mut env = good();
        env.insert("ALLOW_PRIVATE_INTEGRATION_HOSTS", "on".into());
        env.insert("INTEGRATION_TIMEOUT_SECONDS", "45".into());
        let s = SyncSettings::from_lookup(|k| env.get(k).cloned()).expect("valid");
        assert!(s.outbound.allow_private_hosts);
        assert_eq!(s.outbound.timeout, Duration::from_secs(45));
        env.insert("INTEGRATION_TIMEOUT_SECONDS", "abc".into());
        env.insert("ENCRYPTION_KEY_PREVIOUS", "short".into());
        let serve = load(&env).expect_err("serve refuses").to_string();
        let sync = SyncSettings::from_lookup(|k| env.get(k).cloned())
            .err()
            .expect("sync refuses too")
            .to_string();
        for needle in ["INTEGRATION_TIMEOUT_SECONDS must be", "ENCRYPTION_KEY_PREVIOUS entry 1"] {
            assert!(
                serve.contains(needle) && sync.contains(needle),
                "{needle}: {serve} / {sync}"
            );
        }
    }

    #[test]
    fn debug_never_prints_secrets() {
        let mut env = good();
        env.insert("METRICS_TOKEN", "metrics-secret-value".into());
        let s = load(&env).expect("valid");
        let shown = format!("{s:?}");
        assert!(!shown.contains("kkkk") && !shown.contains("metrics-secret-value") && !shown.contains("x.db"));
    }
}
