//! The Backend Service auth contract (DESIGN §5) with the demo users (DESIGN §3).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::Deserialize;
use serde_json::{Value, json};

pub struct DemoUser {
    pub id: i64,
    pub email: &'static str,
    pub password: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub is_admin: bool,
}

pub const USERS: &[DemoUser] = &[
    DemoUser {
        id: 1,
        email: "admin@example.com",
        password: "pulse-admin",
        first_name: "Ada",
        last_name: "Admin",
        is_admin: true,
    },
    DemoUser {
        id: 2,
        email: "viewer@example.com",
        password: "pulse-viewer",
        first_name: "Vic",
        last_name: "Viewer",
        is_admin: false,
    },
];

impl DemoUser {
    fn json(&self) -> Value {
        json!({
            "id": self.id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "role": if self.is_admin { "admin" } else { "user" },
            "is_admin": self.is_admin,
            "tenant_id": 1,
        })
    }
}

/// Issued tokens: token → (user index, expiry).
pub struct BackendState {
    ttl: Duration,
    tokens: Mutex<HashMap<String, (usize, Instant)>>,
}

impl BackendState {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (usize, Instant)>> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn issue(&self, user: usize) -> String {
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let token = format!("sim_{}", URL_SAFE_NO_PAD.encode(bytes));
        let mut tokens = self.lock();
        tokens.retain(|_, (_, exp)| *exp > Instant::now());
        tokens.insert(token.clone(), (user, Instant::now() + self.ttl));
        token
    }

    fn user_for(&self, token: &str) -> Option<&'static DemoUser> {
        let tokens = self.lock();
        let (idx, exp) = tokens.get(token)?;
        (*exp > Instant::now()).then(|| &USERS[*idx])
    }

    fn revoke(&self, token: &str) {
        self.lock().remove(token);
    }

    /// Lets every issued token run out now, as if its time-to-live had passed (for tests).
    pub fn expire_all(&self) {
        let now = Instant::now();
        for (_, exp) in self.lock().values_mut() {
            *exp = now;
        }
    }

    /// Number of live sessions (for tests and `/sim/stats`).
    pub fn live_sessions(&self) -> usize {
        self.lock().values().filter(|(_, exp)| *exp > Instant::now()).count()
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/auth/login", web::post().to(login))
        .route("/api/v1/auth/validate-service", web::post().to(validate))
        .route("/api/v1/auth/logout", web::post().to(logout));
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn login(state: web::Data<BackendState>, body: web::Json<Credentials>) -> HttpResponse {
    let found = USERS
        .iter()
        .position(|u| u.email.eq_ignore_ascii_case(body.email.trim()) && u.password == body.password);
    match found {
        Some(idx) => HttpResponse::Ok().json(json!({
            "success": true,
            "token": state.issue(idx),
            "user": USERS[idx].json(),
        })),
        None => HttpResponse::Unauthorized().json(json!({ "success": false, "error": "Invalid credentials" })),
    }
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("Authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

async fn validate(state: web::Data<BackendState>, req: HttpRequest) -> HttpResponse {
    match bearer(&req).and_then(|t| state.user_for(t)) {
        Some(user) => HttpResponse::Ok().json(json!({ "valid": true, "user": user.json() })),
        None => HttpResponse::Unauthorized().json(json!({ "valid": false, "error": "Invalid or expired token" })),
    }
}

async fn logout(state: web::Data<BackendState>, req: HttpRequest) -> HttpResponse {
    if let Some(token) = bearer(&req) {
        state.revoke(token);
    }
    HttpResponse::Ok().json(json!({ "success": true }))
}
