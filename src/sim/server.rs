//! One HTTP server for every simulator, each under its own base path.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use serde::Serialize;
use serde_json::json;

use super::backend::{self, BackendState};

#[derive(Clone, Debug)]
pub struct SimOptions {
    pub bind: SocketAddr,
    /// Seeds the generated dataset (Jira and GitHub simulators).
    pub seed: u64,
    /// Lifetime of a Backend Service token.
    pub token_ttl: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 1,
            token_ttl: Duration::from_secs(12 * 3600),
        }
    }
}

/// Base URLs, printed as the first line of `pulse-etl sim` (DESIGN §11).
#[derive(Clone, Debug, Serialize)]
pub struct SimUrls {
    pub backend: String,
    pub admin: String,
}

/// Requests served, by simulator, route and status (`GET {admin}/sim/stats`).
#[derive(Default)]
pub struct Stats(Mutex<BTreeMap<String, BTreeMap<String, u64>>>);

pub struct SimHandle {
    pub urls: SimUrls,
    pub backend: web::Data<BackendState>,
    server: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl SimHandle {
    /// Stops the server (open connections are closed at once) and waits for it.
    pub async fn stop(self) {
        self.server.stop(false).await;
        let _ = self.task.await;
    }

    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.map_err(std::io::Error::other)?
    }
}

pub fn start(opts: SimOptions) -> std::io::Result<SimHandle> {
    let listener = TcpListener::bind(opts.bind)?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let backend = web::Data::new(BackendState::new(opts.token_ttl));
    let stats = web::Data::new(Stats::default());
    let (b, s) = (backend.clone(), stats.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(b.clone())
            .app_data(s.clone())
            .wrap(from_fn(count))
            .service(web::scope("/backend").configure(backend::configure))
            .service(web::scope("/admin").route("/sim/stats", web::get().to(stats_json)))
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
            backend: format!("{base}/backend"),
            admin: format!("{base}/admin"),
        },
        backend,
        server: handle,
        task,
    })
}

async fn count(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let stats = req.app_data::<web::Data<Stats>>().cloned();
    let res = next.call(req).await?;
    if let Some(stats) = stats {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        let key = format!("{} {route}", res.request().method());
        let mut map = stats.0.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(key)
            .or_default()
            .entry(res.status().as_u16().to_string())
            .or_default() += 1;
    }
    Ok(res)
}

async fn stats_json(stats: web::Data<Stats>, backend: web::Data<BackendState>) -> HttpResponse {
    let requests = stats.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    HttpResponse::Ok()
        .json(json!({ "requests": requests, "backend_sessions": backend.live_sessions() }))
}
