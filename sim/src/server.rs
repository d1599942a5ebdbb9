//! One HTTP server for every simulator, each under its own base path (see `crate::paths`).

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpServer, web};
use chrono::{DateTime, DurationRound, Utc};
use serde::Serialize;

use super::backend::{self, BackendState};
use super::generate::{self, SizeOptions};
use super::state::{SimConfig, SimState};
use super::{admin, github, gitlab, jira, paths, upstream};

#[derive(Clone, Debug)]
pub struct SimOptions {
    pub bind: SocketAddr,
    /// Seeds the generated dataset and the fault dice.
    pub seed: u64,
    /// Lifetime of a Backend Service token.
    pub token_ttl: Duration,
    pub size: SizeOptions,
    /// The simulated present; defaults to today 00:00 UTC (same seed + same day = same data).
    pub anchor: Option<DateTime<Utc>>,
    pub config: SimConfig,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 1,
            token_ttl: Duration::from_secs(12 * 3600),
            size: SizeOptions::small(),
            anchor: None,
            config: SimConfig::default(),
        }
    }
}

/// Base URLs, printed as the first line of `pulse-etl sim` (DESIGN §11).
#[derive(Clone, Debug, Serialize)]
pub struct SimUrls {
    pub backend: String,
    pub jira_cloud: String,
    pub jira_dc: String,
    pub github: String,
    pub github_enterprise: String,
    /// GitLab's base URL (the API is under `/api/v4`).
    pub gitlab: String,
    pub admin: String,
}

/// Requests served, by route and status (`GET {admin}/sim/stats`).
#[derive(Default)]
pub struct Stats(pub Mutex<BTreeMap<String, BTreeMap<String, u64>>>);

impl Stats {
    /// Requests answered so far on routes whose pattern contains `prefix` (e.g. `/jira-cloud`).
    pub fn served(&self, prefix: &str) -> u64 {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .filter(|(route, _)| route.contains(prefix))
            .flat_map(|(_, by_status)| by_status.values())
            .sum()
    }

    /// Of those, the ones answered with `status` (e.g. `"429"`).
    pub fn served_with(&self, prefix: &str, status: &str) -> u64 {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .filter(|(route, _)| route.contains(prefix))
            .filter_map(|(_, by_status)| by_status.get(status))
            .sum()
    }
}

pub struct SimHandle {
    pub urls: SimUrls,
    pub backend: web::Data<BackendState>,
    pub state: web::Data<SimState>,
    /// Requests served so far (what `GET {admin}/sim/stats` reports), for in-process tests.
    pub stats: web::Data<Stats>,
    server: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl SimHandle {
    /// Stops the server (open connections are closed at once) and waits for it.
    pub async fn stop(self) {
        self.server.stop(false).await;
        let _ = self.task.await;
    }
}

pub fn start(opts: SimOptions) -> std::io::Result<SimHandle> {
    let listener = TcpListener::bind(opts.bind)?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let anchor = opts.anchor.unwrap_or_else(default_anchor);
    let dataset = generate::generate(opts.seed, &opts.size, anchor);
    let state = web::Data::new(SimState::new(opts.seed, dataset, opts.config.clone()));
    let backend = web::Data::new(BackendState::new(opts.token_ttl));
    let stats = web::Data::new(Stats::default());
    let (b, s, st) = (backend.clone(), stats.clone(), state.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(b.clone())
            .app_data(s.clone())
            .app_data(st.clone())
            .app_data(web::JsonConfig::default().limit(4 * 1024 * 1024))
            .wrap(from_fn(upstream::guard))
            .wrap(from_fn(count))
            .service(web::scope(paths::BACKEND).configure(backend::configure))
            .service(web::scope(paths::ADMIN).configure(admin::configure))
            .service(web::scope(paths::JIRA_CLOUD).configure(jira::configure_cloud))
            .service(web::scope(paths::JIRA_DC).configure(jira::configure_dc))
            .service(web::scope(paths::GITHUB_ENTERPRISE_REST).configure(github::configure_rest))
            .service(web::scope(paths::GITLAB_REST).configure(gitlab::configure))
            .route(paths::GITHUB_ENTERPRISE_GRAPHQL, web::post().to(github::graphql))
            .route(paths::GITLAB_GRAPHQL, web::post().to(gitlab::graphql::graphql))
            .service(
                web::scope(paths::GITHUB)
                    .route("/graphql", web::post().to(github::graphql))
                    .configure(github::configure_rest),
            )
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    Ok(SimHandle {
        urls: SimUrls {
            backend: format!("{base}{}", paths::BACKEND),
            jira_cloud: format!("{base}{}", paths::JIRA_CLOUD),
            jira_dc: format!("{base}{}", paths::JIRA_DC),
            github: format!("{base}{}", paths::GITHUB),
            github_enterprise: format!("{base}{}", paths::GITHUB_ENTERPRISE_REST),
            gitlab: format!("{base}{}", paths::GITLAB),
            admin: format!("{base}{}", paths::ADMIN),
        },
        backend,
        state,
        stats,
        server: handle,
        task,
    })
}

/// Today at 00:00 UTC.
pub fn default_anchor() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(chrono::Duration::days(1)).unwrap_or(now)
}

async fn count(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let stats = req.app_data::<web::Data<Stats>>().cloned();
    let res = next.call(req).await?;
    if let Some(stats) = stats {
        let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
        let key = format!("{} {route}", res.request().method());
        let mut map = stats.0.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(key)
            .or_default()
            .entry(res.status().as_u16().to_string())
            .or_default() += 1;
    }
    Ok(res)
}
