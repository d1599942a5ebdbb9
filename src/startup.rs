//! Builds the application once: database, state, HTTP server.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Instant;

use actix_session::SessionMiddleware;
use actix_session::config::CookieContentSecurity;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use metrics_exporter_prometheus::PrometheusHandle;
use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha512};

use crate::auth::BackendClient;
use crate::auth::throttle::LoginThrottle;
use crate::config::Settings;
use crate::crypto::Vault;
use crate::integrations::http::{Guard, Outbound};
use crate::limits::{ConnectionLimit, PerKey, TrustedProxies};
use crate::orchestrator::runner::JobDeps;
use crate::orchestrator::{self, Leadership, OrchestratorHandle};
use crate::{auth, db, limits, routes, telemetry};
use tokio_util::sync::CancellationToken;

/// How long a graceful shutdown waits for open requests before closing them.
const SHUTDOWN_TIMEOUT_SECS: u64 = 10;
/// Largest accepted request body (forms and JSON); larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Built once, shared by every worker.
pub struct AppState {
    pub db: DatabaseConnection,
    pub auth: BackendClient,
    /// Encrypts and decrypts integration credentials.
    pub vault: std::sync::Arc<Vault>,
    /// Address policy (SSRF guard) and timeout for calls to Jira and GitHub.
    pub outbound: Outbound,
    pub debug: bool,
    pub cookie_secure: bool,
    pub timezone: chrono_tz::Tz,
    pub metrics: PrometheusHandle,
    pub metrics_token: Option<SecretString>,
    pub started_at: Instant,
    pub orchestrator: OrchestratorHandle,
    /// Cancelled on SIGTERM / Ctrl-C: the server drains, sockets close, the job is interrupted.
    pub shutdown: CancellationToken,
    /// What the analytics reports read from the precomputed rows, between rebuilds.
    pub analytics: std::sync::Arc<crate::analytics::Cache>,
    /// Reverse proxies whose forwarding headers are believed.
    pub trusted_proxies: TrustedProxies,
    /// Wrong passwords per e-mail and client address.
    pub login_throttle: LoginThrottle,
    /// Live-status WebSockets open per user, and how many one user may have.
    pub websockets: PerKey<String>,
    pub max_websockets_per_user: usize,
    /// SQLite: the exclusive lock beside the database file, held while the process lives.
    _instance_lock: Option<std::fs::File>,
}

pub struct Application {
    port: u16,
    server: Server,
    pub state: web::Data<AppState>,
}

impl Application {
    /// Connects and migrates the database, binds the listener (port 0 picks a free port).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // SQLite is single-instance: a second process on the same file is refused before it
        // touches the database.
        let instance_lock = db::lock_single_instance(settings.database_url.expose_secret())?;
        // Before anything records: the orchestrator sets its gauges as soon as it starts.
        let metrics = telemetry::prometheus();
        let db = db::connect_with(settings.database_url.expose_secret(), settings.leader_lease)
            .await
            .context("cannot connect to the database (DATABASE_URL)")?;
        db::migrate(&db).await.context("cannot apply database migrations")?;
        // Registered before the port opens: a SIGTERM that arrives as soon as the port answers
        // must already find our handler, not the default (immediate death).
        #[cfg(unix)]
        let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        #[cfg(not(unix))]
        let term = None;
        let listener = TcpListener::bind(settings.bind_address)
            .with_context(|| format!("cannot listen on {}", settings.bind_address))?;
        let port = listener.local_addr()?.port();
        let shutdown = CancellationToken::new();
        let vault = std::sync::Arc::new(Vault::new(&settings.encryption_key, &settings.encryption_keys_previous));
        let outbound = Outbound {
            guard: Guard {
                allow_private: settings.allow_private_integration_hosts,
            },
            timeout: settings.integration_timeout,
        };
        let owner = format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple());
        let leadership = match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                orchestrator::leader::join(db.clone(), owner, settings.leader_lease, shutdown.clone()).await
            }
            _ => Leadership::single(owner),
        };
        let analytics = std::sync::Arc::new(crate::analytics::Cache::default());
        let orchestrator = orchestrator::spawn(
            JobDeps {
                db: db.clone(),
                vault: vault.clone(),
                outbound,
                analytics: analytics.clone(),
            },
            leadership,
            settings.job_lease,
            shutdown.clone(),
        );
        orchestrator::relay::spawn(db.clone(), orchestrator.clone(), shutdown.clone());
        let state = web::Data::new(AppState {
            db,
            auth: BackendClient::new(settings.backend_service_url.clone(), settings.auth_cache_ttl)?,
            vault,
            outbound,
            debug: settings.debug,
            cookie_secure: settings.cookie_secure,
            timezone: settings.scheduler_timezone,
            metrics,
            metrics_token: settings.metrics_token.clone(),
            started_at: Instant::now(),
            orchestrator,
            shutdown: shutdown.clone(),
            analytics,
            trusted_proxies: settings.trusted_proxies.clone(),
            login_throttle: LoginThrottle::default(),
            websockets: PerKey::default(),
            max_websockets_per_user: settings.max_websockets_per_user,
            _instance_lock: instance_lock,
        });
        tokio::spawn(cancel_on_signal(shutdown, term));
        tokio::spawn(orchestrator::status::push_health(
            state.orchestrator.clone(),
            state.shutdown.clone(),
        ));
        let key = Arc::new(session_key(settings.secret_key.expose_secret()));
        let connections = ConnectionLimit::new(settings.max_connections_per_client, settings.trusted_proxies.clone());
        let server = serve(listener, state.clone(), key, connections)?;
        Ok(Self { port, server, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM / Ctrl-C (graceful) or until the handle stops it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// A 64-byte cookie key derived from the whole `SECRET_KEY`, not just its first 64 bytes.
fn session_key(secret: &[u8]) -> Key {
    Key::from(Sha512::digest(secret).as_slice())
}

fn serve(
    listener: TcpListener,
    state: web::Data<AppState>,
    key: Arc<Key>,
    connections: ConnectionLimit,
) -> anyhow::Result<Server> {
    let stop = state_shutdown(&state);
    let access = web::Data::new(auth::middleware::AccessTable::new(routes::ROUTES));
    let server = HttpServer::new(move || {
        let secure = state.cookie_secure;
        let session = SessionMiddleware::builder(CookieSessionStore::default(), (*key).clone())
            .cookie_name(auth::session::cookie_name(secure).to_string())
            .cookie_secure(secure)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_path("/".into())
            .cookie_content_security(CookieContentSecurity::Private)
            .build();
        App::new()
            .app_data(state.clone())
            .app_data(access.clone())
            .app_data(
                web::FormConfig::default()
                    .limit(MAX_BODY_BYTES)
                    .error_handler(routes::bad_form),
            )
            .app_data(
                web::JsonConfig::default()
                    .limit(MAX_BODY_BYTES)
                    .error_handler(routes::bad_json),
            )
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .app_data(web::PathConfig::default().error_handler(routes::bad_path))
            .app_data(web::QueryConfig::default().error_handler(routes::bad_query))
            .wrap(from_fn(auth::middleware::authenticate))
            .wrap(session)
            .wrap(security_headers())
            .wrap(from_fn(limits::body_deadline))
            .wrap(from_fn(limits::connections::refuse_over_limit))
            .wrap(from_fn(telemetry::track_requests))
            .configure(routes::configure)
            .default_service(web::to(routes::not_found))
    })
    .on_connect(move |conn, ext| {
        if let Some(peer) = conn
            .downcast_ref::<actix_web::rt::net::TcpStream>()
            .and_then(|tcp| tcp.peer_addr().ok())
        {
            ext.insert(connections.open(peer.ip()));
        }
    })
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
    .shutdown_signal(stop)
    .listen(listener)?
    .run();
    Ok(server)
}

fn state_shutdown(state: &web::Data<AppState>) -> impl std::future::Future<Output = ()> + Send + 'static {
    state.shutdown.clone().cancelled_owned()
}

/// SIGTERM or Ctrl-C cancels the shutdown token (we handle signals so sockets can close first).
#[cfg(unix)]
async fn cancel_on_signal(token: CancellationToken, term: Option<tokio::signal::unix::Signal>) {
    let signal = async {
        match term {
            Some(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
            }
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::select! {
        _ = signal => {
            tracing::info!("shutdown requested");
            token.cancel();
        }
        _ = token.cancelled() => {}
    }
}

#[cfg(not(unix))]
async fn cancel_on_signal(token: CancellationToken, _term: Option<()>) {
    tokio::select! {
        _ = tokio::signal::ctrl_c() => token.cancel(),
        _ = token.cancelled() => {}
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "pulse".into())
}

/// Content-Security-Policy allowing only our own scripts and styles, plus the usual headers.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; font-src 'self'; base-uri 'none'; object-src 'none'; \
             frame-ancestors 'none'; form-action 'self'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("X-Frame-Options", "DENY"))
}

/// The address a server bound to, for printing.
pub fn local_url(addr: SocketAddr, port: u16) -> String {
    format!("http://{}:{port}", addr.ip())
}
