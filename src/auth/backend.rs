//! Client for the Backend Service auth contract, with a TTL cache of validated tokens.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

/// How long one call to the Backend Service may take before we call it unreachable.
const BACKEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Above this many cached tokens, expired entries are swept on insert.
const CACHE_SWEEP_THRESHOLD: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: serde_json::Value,
    pub email: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub is_admin: bool,
    #[serde(default)]
    pub tenant_id: Option<serde_json::Value>,
}

impl User {
    pub fn display_name(&self) -> String {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) if !f.is_empty() => format!("{f} {l}"),
            (Some(f), _) if !f.is_empty() => f.clone(),
            _ => self.email.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("wrong email or password")]
    BadCredentials,
    #[error("the session is not valid")]
    InvalidToken,
    #[error("the authentication service is unreachable")]
    Unavailable(#[source] anyhow::Error),
}

#[derive(Deserialize)]
struct LoginAnswer {
    token: String,
    user: User,
}

#[derive(Deserialize)]
struct ValidateAnswer {
    #[serde(default)]
    valid: bool,
    user: Option<User>,
}

pub struct BackendClient {
    base: Url,
    http: reqwest::Client,
    ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], (Instant, User)>>,
}

impl BackendClient {
    pub fn new(base: Url, ttl: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(BACKEND_TIMEOUT)
            .connect_timeout(BACKEND_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pulse-etl/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            base,
            http,
            ttl,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}/api/v1/auth/{path}", self.base.as_str().trim_end_matches('/'))
    }

    /// Exchanges credentials for a backend token.
    pub async fn login(&self, email: &str, password: &SecretString) -> Result<(SecretString, User), AuthError> {
        let body = serde_json::json!({ "email": email, "password": password.expose_secret() });
        let res = self
            .http
            .post(self.endpoint("login"))
            .json(&body)
            .send()
            .await
            .map_err(|e| AuthError::Unavailable(e.without_url().into()))?;
        match res.status().as_u16() {
            200 => {
                let answer: LoginAnswer = res
                    .json()
                    .await
                    .map_err(|e| AuthError::Unavailable(e.without_url().into()))?;
                self.remember(&answer.token, &answer.user);
                Ok((SecretString::from(answer.token), answer.user))
            }
            400 | 401 | 403 | 422 => Err(AuthError::BadCredentials),
            s => Err(AuthError::Unavailable(anyhow::anyhow!("backend login answered {s}"))),
        }
    }

    /// Checks a token, trusting a previous positive answer for the cache TTL.
    pub async fn validate(&self, token: &str) -> Result<User, AuthError> {
        let key = cache_key(token);
        if let Some(user) = self.cached(&key) {
            return Ok(user);
        }
        let res = self
            .http
            .post(self.endpoint("validate-service"))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| AuthError::Unavailable(e.without_url().into()))?;
        match res.status().as_u16() {
            200 => {
                let answer: ValidateAnswer = res
                    .json()
                    .await
                    .map_err(|e| AuthError::Unavailable(e.without_url().into()))?;
                match (answer.valid, answer.user) {
                    (true, Some(user)) => {
                        self.remember(token, &user);
                        Ok(user)
                    }
                    _ => Err(AuthError::InvalidToken),
                }
            }
            401 | 403 => Err(AuthError::InvalidToken),
            s => Err(AuthError::Unavailable(anyhow::anyhow!("backend validate answered {s}"))),
        }
    }

    /// Ends the session at the backend and forgets the cached validation.
    pub async fn logout(&self, token: &str) -> Result<(), AuthError> {
        self.forget(token);
        let res = self
            .http
            .post(self.endpoint("logout"))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| AuthError::Unavailable(e.without_url().into()))?;
        match res.status().as_u16() {
            200..=299 | 401 => Ok(()),
            s => Err(AuthError::Unavailable(anyhow::anyhow!("backend logout answered {s}"))),
        }
    }

    pub fn forget(&self, token: &str) {
        self.lock().remove(&cache_key(token));
    }

    fn cached(&self, key: &[u8; 32]) -> Option<User> {
        let mut cache = self.lock();
        match cache.get(key) {
            Some((at, user)) if at.elapsed() < self.ttl => Some(user.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    fn remember(&self, token: &str, user: &User) {
        if self.ttl.is_zero() {
            return;
        }
        let mut cache = self.lock();
        if cache.len() >= CACHE_SWEEP_THRESHOLD {
            let ttl = self.ttl;
            cache.retain(|_, (at, _)| at.elapsed() < ttl);
        }
        cache.insert(cache_key(token), (Instant::now(), user.clone()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (Instant, User)>> {
        self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The cache never holds tokens themselves, only their SHA-256.
fn cache_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}
