//! A proxy in front of the simulated GitHub that misbehaves on purpose: 502 for large pages,
//! `RATE_LIMITED` inside HTTP 200.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::TestApp;

#[derive(Default)]
pub struct Misbehave {
    /// Answer 502 to pull-request pages larger than this.
    pub max_prs: Option<u64>,
    /// Answer the nth GraphQL request with `RATE_LIMITED` inside HTTP 200.
    pub rate_limit_at: Option<u64>,
}

pub struct Proxy {
    pub origin: String,
    pub me: String,
    pub rules: Misbehave,
    pub client: reqwest::Client,
    pub graphql: AtomicU64,
    pub timeouts: AtomicU64,
    pub served_pages: std::sync::Mutex<Vec<u64>>,
}

/// The reset the injected rate limit announces.
pub fn injected_reset() -> DateTime<Utc> {
    DateTime::from_timestamp((Utc::now() + chrono::Duration::minutes(42)).timestamp(), 0).unwrap()
}

pub async fn forward(
    req: actix_web::HttpRequest,
    body: actix_web::web::Bytes,
    p: actix_web::web::Data<Proxy>,
) -> actix_web::HttpResponse {
    use actix_web::HttpResponse;
    use actix_web::http::StatusCode;
    if req.path().ends_with("/graphql") {
        let n = p.graphql.fetch_add(1, Ordering::SeqCst) + 1;
        if p.rules.rate_limit_at == Some(n) {
            return HttpResponse::Ok()
                .insert_header(("x-ratelimit-remaining", "0"))
                .insert_header(("x-ratelimit-reset", injected_reset().timestamp().to_string()))
                .json(
                    json!({"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]}),
                );
        }
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        if let Some(prs) = v["variables"]["prs"].as_u64() {
            if p.rules.max_prs.is_some_and(|max| prs > max) {
                p.timeouts.fetch_add(1, Ordering::SeqCst);
                return HttpResponse::build(StatusCode::BAD_GATEWAY)
                    .json(json!({"message": "We couldn't respond to your request in time."}));
            }
            p.served_pages.lock().unwrap().push(prs);
        }
    }
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
    let mut out = p
        .client
        .request(method, format!("{}{}", p.origin, req.uri()))
        .body(body.to_vec());
    for name in [
        "authorization",
        "if-none-match",
        "content-type",
        "accept",
        "x-github-api-version",
    ] {
        if let Some(v) = req.headers().get(name).and_then(|v| v.to_str().ok()) {
            out = out.header(name, v);
        }
    }
    let res = out.send().await.unwrap();
    let mut answer = HttpResponse::build(StatusCode::from_u16(res.status().as_u16()).unwrap());
    for (k, v) in res.headers() {
        let v = v.to_str().unwrap_or_default();
        match k.as_str() {
            "content-length" | "transfer-encoding" | "connection" => {}
            "link" => {
                answer.insert_header(("link", v.replace(&p.origin, &p.me)));
            }
            name => {
                answer.insert_header((name.to_string(), v.to_string()));
            }
        }
    }
    answer.body(res.bytes().await.unwrap())
}

/// Starts the proxy in front of the simulator; its GitHub REST root and its state.
pub fn start_proxy(app: &TestApp, rules: Misbehave) -> (String, actix_web::web::Data<Proxy>) {
    let sim_github = &app.sim.as_ref().unwrap().urls.github;
    let origin = sim_github.trim_end_matches("/github").to_string();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let me = format!("http://{}", listener.local_addr().unwrap());
    let proxy = actix_web::web::Data::new(Proxy {
        origin,
        me: me.clone(),
        rules,
        client: reqwest::Client::new(),
        graphql: AtomicU64::new(0),
        timeouts: AtomicU64::new(0),
        served_pages: std::sync::Mutex::new(Vec::new()),
    });
    let state = proxy.clone();
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(state.clone())
            .default_service(actix_web::web::to(forward))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (format!("{me}/github"), proxy)
}
