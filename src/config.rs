//! Settings from the environment (DESIGN §4), validated once at start-up.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::{SecretBox, SecretString};
use url::Url;

use crate::limits::TrustedProxies;

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
    pub encryption_key: SecretBox<[u8; ENCRYPTION_KEY_BYTES]>,
    pub encryption_keys_previous: Vec<SecretBox<[u8; ENCRYPTION_KEY_BYTES]>>,
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
        let _ = dotenvy::dotenv();
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Builds settings from any key → value lookup; used by `from_env` and tests.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let mut required = |key: &str| match get(key).filter(|v| !v.trim().is_empty()) {
            Some(v) => Some(v),
            None => {
                problems.push(format!("{key} is required"));
                None
            }
        };
        let database_url = required("DATABASE_URL");
        let backend = required("BACKEND_SERVICE_URL");
        let secret_key = required("SECRET_KEY");
        let encryption_key = required("ENCRYPTION_KEY");

        let database_url = database_url.and_then(|url| {
            if url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://") {
                Some(url)
            } else {
                problems.push("DATABASE_URL must start with sqlite: or postgres://".into());
                None
            }
        });
        let backend_service_url = backend.and_then(|raw| match parse_http_url(&raw) {
            Ok(url) => Some(url),
            Err(why) => {
                problems.push(format!("BACKEND_SERVICE_URL {why}"));
                None
            }
        });
        let secret_key = secret_key.and_then(|key| {
            if key.len() >= MIN_SECRET_KEY_BYTES {
                Some(key.into_bytes())
            } else {
                problems.push(format!(
                    "SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes (got {})",
                    key.len()
                ));
                None
            }
        });
        let encryption_key = encryption_key.and_then(|key| match decode_key(&key) {
            Ok(k) => Some(k),
            Err(why) => {
                problems.push(format!("ENCRYPTION_KEY {why}"));
                None
            }
        });
        let mut previous = Vec::new();
        if let Some(list) = get("ENCRYPTION_KEY_PREVIOUS").filter(|v| !v.trim().is_empty()) {
            for (i, item) in list.split(',').map(str::trim).filter(|s| !s.is_empty()).enumerate() {
                match decode_key(item) {
                    Ok(k) => previous.push(SecretBox::new(Box::new(k))),
                    Err(why) => problems.push(format!("ENCRYPTION_KEY_PREVIOUS entry {} {why}", i + 1)),
                }
            }
        }
        let scheduler_timezone = match get("SCHEDULER_TIMEZONE").filter(|v| !v.trim().is_empty()) {
            None => chrono_tz::UTC,
            Some(tz) => tz.trim().parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
                problems.push(format!("SCHEDULER_TIMEZONE {tz:?} is not an IANA time zone"));
                chrono_tz::UTC
            }),
        };
        let bind_address = match get("BIND_ADDRESS").filter(|v| !v.trim().is_empty()) {
            None => SocketAddr::from(([127, 0, 0, 1], 8000)),
            Some(addr) => addr.trim().parse().unwrap_or_else(|_| {
                problems.push(format!("BIND_ADDRESS {addr:?} is not host:port (e.g. 127.0.0.1:8000)"));
                SocketAddr::from(([127, 0, 0, 1], 8000))
            }),
        };
        let mut flag = |key: &str| match get(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => false,
            Some(v) if v.is_empty() => false,
            Some(v) => match v.as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => {
                    problems.push(format!("{key} must be true or false (got {v:?})"));
                    false
                }
            },
        };
        let debug = flag("DEBUG");
        let allow_private_integration_hosts = flag("ALLOW_PRIVATE_INTEGRATION_HOSTS");
        let log_level = get("LOG_LEVEL")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "info".into());
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            problems.push(format!(
                "LOG_LEVEL {log_level:?} is not a tracing filter (e.g. info or pulse_etl=debug)"
            ));
        }
        let log_format = match get("LOG_FORMAT").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                problems.push(format!("LOG_FORMAT must be text or json (got {other:?})"));
                LogFormat::Text
            }
        };
        let auth_cache_ttl = match get("AUTH_CACHE_TTL_SECONDS").filter(|v| !v.trim().is_empty()) {
            None => Duration::from_secs(30),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(secs) if secs <= 3600 => Duration::from_secs(secs),
                _ => {
                    problems.push(format!(
                        "AUTH_CACHE_TTL_SECONDS must be a whole number 0–3600 (got {v:?})"
                    ));
                    Duration::from_secs(30)
                }
            },
        };
        let integration_timeout = match get("INTEGRATION_TIMEOUT_SECONDS").filter(|v| !v.trim().is_empty()) {
            None => Duration::from_secs(30),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(secs) if (1..=600).contains(&secs) => Duration::from_secs(secs),
                _ => {
                    problems.push(format!(
                        "INTEGRATION_TIMEOUT_SECONDS must be a whole number 1–600 (got {v:?})"
                    ));
                    Duration::from_secs(30)
                }
            },
        };
        let job_lease = match get("JOB_LEASE_SECONDS").filter(|v| !v.trim().is_empty()) {
            None => crate::orchestrator::LEASE,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(secs) if (3..=600).contains(&secs) => Duration::from_secs(secs),
                _ => {
                    problems.push(format!("JOB_LEASE_SECONDS must be a whole number 3–600 (got {v:?})"));
                    crate::orchestrator::LEASE
                }
            },
        };
        let leader_lease = match get("LEADER_LEASE_SECONDS").filter(|v| !v.trim().is_empty()) {
            None => crate::orchestrator::LEADER_LEASE,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(secs) if (3..=600).contains(&secs) => Duration::from_secs(secs),
                _ => {
                    problems.push(format!("LEADER_LEASE_SECONDS must be a whole number 3–600 (got {v:?})"));
                    crate::orchestrator::LEADER_LEASE
                }
            },
        };
        let trusted_proxies = match get("TRUSTED_PROXIES") {
            None => TrustedProxies::default(),
            Some(list) => TrustedProxies::parse(&list).unwrap_or_else(|why| {
                problems.push(format!("TRUSTED_PROXIES {why}"));
                TrustedProxies::default()
            }),
        };
        let mut count = |key: &str, default: usize| match get(key).filter(|v| !v.trim().is_empty()) {
            None => default,
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= 1_000_000)
                .unwrap_or_else(|| {
                    problems.push(format!(
                        "{key} must be a whole number 0–1000000, 0 for no limit (got {v:?})"
                    ));
                    default
                }),
        };
        let max_connections_per_client = count("MAX_CONNECTIONS_PER_CLIENT", DEFAULT_MAX_CONNECTIONS_PER_CLIENT);
        let max_websockets_per_user = count("MAX_WEBSOCKETS_PER_USER", DEFAULT_MAX_WEBSOCKETS_PER_USER);
        let metrics_token = get("METRICS_TOKEN")
            .filter(|v| !v.trim().is_empty())
            .map(SecretString::from);

        match (database_url, backend_service_url, secret_key, encryption_key) {
            (Some(database_url), Some(backend_service_url), Some(secret_key), Some(encryption_key))
                if problems.is_empty() =>
            {
                Ok(Settings {
                    database_url: SecretString::from(database_url),
                    backend_service_url,
                    secret_key: SecretBox::new(Box::new(secret_key)),
                    encryption_key: SecretBox::new(Box::new(encryption_key)),
                    encryption_keys_previous: previous,
                    scheduler_timezone,
                    bind_address,
                    debug,
                    log_level,
                    log_format,
                    auth_cache_ttl,
                    metrics_token,
                    allow_private_integration_hosts,
                    integration_timeout,
                    job_lease,
                    leader_lease,
                    trusted_proxies,
                    max_connections_per_client,
                    max_websockets_per_user,
                    cookie_secure: !debug,
                })
            }
            _ => Err(ConfigError(problems)),
        }
    }
}

/// Accepts only absolute http(s) URLs with a host.
pub fn parse_http_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("is not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("must use http or https (got {})", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    Ok(url)
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

    #[test]
    fn debug_never_prints_secrets() {
        let mut env = good();
        env.insert("METRICS_TOKEN", "metrics-secret-value".into());
        let s = load(&env).expect("valid");
        let shown = format!("{s:?}");
        assert!(!shown.contains("kkkk") && !shown.contains("metrics-secret-value") && !shown.contains("x.db"));
    }
}
