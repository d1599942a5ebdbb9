use std::collections::HashMap;
use std::sync::{Arc, Once};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use pulse_etl::config::Settings;
use pulse_etl::startup::Application;
use pulse_sim::{SimHandle, SimOptions};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::HeaderMap;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use tempfile::TempDir;

/// Runs one async test body once per database backend, each on a fresh database:
/// `db_test!(name)` expects `async fn name(db: Db)` in scope.
#[macro_export]
macro_rules! db_test {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::Db::Postgres).await
            }
        }
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        // The simulator's 200 issues in slices of about 40: every full Jira sync is sliced.
        pulse_etl::integrations::jira::plan::set_min_slice(40);
        if std::env::var("TEST_LOG").is_ok() {
            pulse_etl::telemetry::init_tracing("info", pulse_etl::config::LogFormat::Text);
        }
    });
}

/// Server part of the PostgreSQL URL used for test databases.
pub fn pg_base() -> String {
    std::env::var("PULSE_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A brand-new, empty database and its URL. PostgreSQL databases are named `pulse_test_*`;
/// `make test` drops leftovers of earlier runs.
pub async fn fresh_database(db: Db, dir: &TempDir) -> String {
    match db {
        Db::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
        Db::Postgres => {
            let name = format!("pulse_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(format!("{}/postgres", pg_base()))
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create database");
            admin.close().await.ok();
            format!("{}/{name}", pg_base())
        }
    }
}

pub fn random_key(len: usize) -> String {
    use rand::RngCore;
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    BASE64.encode(bytes)
}

pub struct TestApp {
    pub address: String,
    pub app_state: actix_web::web::Data<pulse_etl::startup::AppState>,
    pub database_url: String,
    pub encryption_key: String,
    pub dir: std::path::PathBuf,
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    pub db: DatabaseConnection,
    pub sim: Option<SimHandle>,
    _dir: TempDir,
}

/// Knobs for one test app; defaults give a plain-HTTP app with the auth cache off.
pub struct Options {
    pub db: Db,
    pub env: HashMap<&'static str, String>,
    pub cookie_secure: bool,
    pub sim: SimOptions,
}

impl Options {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            env: HashMap::from([
                ("AUTH_CACHE_TTL_SECONDS", "0".to_string()),
                ("ALLOW_PRIVATE_INTEGRATION_HOSTS", "true".to_string()),
                ("INTEGRATION_TIMEOUT_SECONDS", "3".to_string()),
            ]),
            cookie_secure: false,
            sim: SimOptions::default(),
        }
    }
}

pub async fn spawn_app(db: Db) -> TestApp {
    spawn_app_with(Options::new(db)).await
}

pub async fn spawn_app_with(opts: Options) -> TestApp {
    init();
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = pulse_sim::server::start(opts.sim).expect("start simulators");
    let database_url = fresh_database(opts.db, &dir).await;
    let encryption_key = random_key(32);
    let mut env: HashMap<&'static str, String> = HashMap::from([
        ("DATABASE_URL", database_url.clone()),
        ("BACKEND_SERVICE_URL", sim.urls.backend.clone()),
        ("SECRET_KEY", random_key(64)),
        ("ENCRYPTION_KEY", encryption_key.clone()),
        ("BIND_ADDRESS", "127.0.0.1:0".into()),
    ]);
    env.extend(opts.env);
    let mut settings = Settings::from_lookup(|k| env.get(k).cloned()).expect("valid test settings");
    settings.cookie_secure = opts.cookie_secure;
    let app = Application::build(settings).await.expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.state.db.clone();
    let app_state = app.state.clone();
    tokio::spawn(app.run_until_stopped());
    let jar = Arc::new(Jar::default());
    let client = client_with(jar.clone());
    TestApp {
        address,
        app_state,
        database_url,
        encryption_key,
        dir: dir.path().to_path_buf(),
        client,
        jar,
        db,
        sim: Some(sim),
        _dir: dir,
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
pub fn client() -> reqwest::Client {
    client_with(Arc::new(Jar::default()))
}

fn client_with(jar: Arc<Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

pub fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(String::from)
        .collect()
}

pub fn select_attr(html: &str, selector: &str, attr: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).expect("selector");
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr(attr))
        .map(String::from)
}

/// The text of the first element `selector` matches, whitespace collapsed.
pub fn select_text(html: &str, selector: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).expect("selector");
    doc.select(&sel).next().map(|e| {
        e.text()
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    })
}

pub fn count(html: &str, selector: &str) -> usize {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).expect("selector");
    doc.select(&sel).count()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request")
    }

    /// The CSRF token of the current session, as the login form or any page carries it.
    pub async fn csrf(&self, path: &str) -> String {
        let html = self.get(path).await.text().await.expect("body");
        select_attr(&html, "input[name=csrf_token]", "value").expect("csrf field on the page")
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        let csrf = self.csrf("/login").await;
        self.client
            .post(self.url("/login"))
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", &csrf),
                ("next", "/"),
            ])
            .send()
            .await
            .expect("login request")
    }

    pub async fn login_admin(&self) {
        let res = self.login("admin@example.com", "pulse-admin").await;
        assert_eq!(res.status(), 303, "admin login must succeed");
    }

    pub async fn login_viewer(&self) {
        let res = self.login("viewer@example.com", "pulse-viewer").await;
        assert_eq!(res.status(), 303, "viewer login must succeed");
    }

    /// A backend token obtained directly from the Backend Service, for Bearer API calls.
    pub async fn backend_token(&self, email: &str, password: &str) -> String {
        let sim = self.sim.as_ref().expect("sim running");
        let res: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", sim.urls.backend))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("backend login")
            .json()
            .await
            .expect("json");
        res["token"].as_str().expect("token").to_string()
    }

    pub fn state(&self) -> &pulse_etl::startup::AppState {
        &self.app_state
    }

    /// The `Cookie` header the client currently sends to the app.
    pub fn cookie_header(&self) -> String {
        let url = self.address.parse().expect("url");
        self.jar
            .cookies(&url)
            .map(|v| v.to_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    }

    pub async fn stop_sim(&mut self) {
        if let Some(sim) = self.sim.take() {
            sim.stop().await;
        }
    }
}

/// A job force-stopped by the admin: the reason says who, no retry is scheduled (it waits for
/// the main cycle or a manual start), and the job is idle: no owner, no run, no stop pending.
pub fn assert_force_stopped_and_idle(job: &entity::jobs::Model) {
    assert!(
        job.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("force-stopped by admin@example.com"),
        "{:?}",
        job.last_error
    );
    assert!(
        job.next_retry_at.is_none(),
        "a force-stopped run waits for the main cycle or a manual start"
    );
    assert_eq!(
        (job.lease_owner.as_deref(), job.current_run_id, job.stop_requested),
        (None, None, false),
        "the job is idle: no owner, no run, no stop pending"
    );
}
