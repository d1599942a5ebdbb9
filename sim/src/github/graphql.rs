//! `POST /graphql` (github.com) and `POST /api/graphql` (Enterprise).
//!
//! Flow: parse the body → parse the document (`graphql-parser`) → [`plan`] (validation) →
//! [`cost`] (GitHub's rule, before anything runs) → charge the token's `graphql` budget when
//! limits are on (exhausted: HTTP 200 with a `RATE_LIMITED` error) → [`exec`] over the borrowed
//! dataset. With limits off (Enterprise default) `rateLimit` resolves to `null`, as GHES does
//! with rate limiting disabled, and no `x-ratelimit-*` headers are sent.

pub mod cost;
pub mod exec;
pub mod plan;
pub mod schema;

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::render::Urls;
use super::rest::token_user;
use crate::state::{SimState, Upstream, Window};
use crate::upstream::{add_github_rate_headers, github_json, github_limits_on};

const HOUR: Duration = Duration::from_secs(3600);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    query: Option<String>,
    #[serde(default)]
    variables: Option<Value>,
    #[serde(default)]
    operation_name: Option<String>,
}

fn token(req: &HttpRequest) -> String {
    req.headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(_, t)| t.trim().to_string())
        .unwrap_or_default()
}

fn json_200(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json; charset=utf-8")
        .body(body)
}

fn errors_only(errors: Vec<Value>) -> HttpResponse {
    json_200(serde_json::to_vec(&json!({ "errors": errors })).unwrap_or_default())
}

/// `Parse error at 3:7 …` → (3, 7).
fn parse_error_position(message: &str) -> Option<(usize, usize)> {
    let rest = &message[message.find(" at ")? + 4..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit() && c != ':')
        .unwrap_or(rest.len());
    let (line, column) = rest[..end].split_once(':')?;
    Some((line.parse().ok()?, column.parse().ok()?))
}

/// Executes one GraphQL request.
pub async fn graphql(req: HttpRequest, body: web::Bytes, state: web::Data<SimState>) -> HttpResponse {
    let upstream = Upstream::from_path(req.path()).unwrap_or(Upstream::Github);
    let cfg = state.config();
    let limits = github_limits_on(&cfg, upstream);
    let budget = cfg.github_graphql_budget;
    let token = token(&req);
    let with_headers = |mut res: HttpResponse, w: Option<Window>| {
        if let Some(w) = w {
            add_github_rate_headers(&mut res, "graphql", budget, w);
        }
        res
    };
    let peek = || limits.then(|| state.peek(&token, "graphql", HOUR));

    let Ok(request) = serde_json::from_slice::<Request>(&body) else {
        return with_headers(github_json(StatusCode::BAD_REQUEST, "Problems parsing JSON"), peek());
    };
    let Some(query) = request.query.filter(|q| !q.trim().is_empty()) else {
        return with_headers(
            errors_only(vec![
                json!({"message": "A query attribute must be specified and must be a string."}),
            ]),
            peek(),
        );
    };
    let variables: Option<Map<String, Value>> = match request.variables {
        Some(Value::Object(m)) => Some(m),
        Some(Value::String(s)) if !s.trim().is_empty() => match serde_json::from_str(&s) {
            Ok(Value::Object(m)) => Some(m),
            _ => {
                return with_headers(
                    errors_only(vec![json!({"message": "Variables are invalid JSON."})]),
                    peek(),
                );
            }
        },
        _ => None,
    };
    let doc = match graphql_parser::parse_query::<&str>(&query) {
        Ok(d) => d,
        Err(e) => {
            let message = e.to_string();
            let message = message
                .strip_prefix("query parse error: ")
                .unwrap_or(&message)
                .trim()
                .replace('\n', " ");
            let mut error = json!({ "message": message });
            if let Some((line, column)) = parse_error_position(&message) {
                error["locations"] = json!([{"line": line, "column": column}]);
            }
            return with_headers(errors_only(vec![error]), peek());
        }
    };
    let plan = match plan::plan(&doc, request.operation_name.as_deref(), variables.as_ref()) {
        Ok(p) => p,
        Err(errors) => return with_headers(errors_only(errors), peek()),
    };
    let cost = cost::compute(&plan.root);
    if let Some((conn, nodes)) = &cost.exceeded {
        return with_headers(
            errors_only(vec![json!({
                "type": "MAX_NODE_LIMIT_EXCEEDED",
                "message": format!(
                    "By the time this query traverses to the {conn} connection, it is requesting up to {} possible nodes which exceeds the maximum limit of {}.",
                    cost::thousands(*nodes),
                    cost::thousands(cost::MAX_NODES)
                ),
            })]),
            peek(),
        );
    }
    let data = state.data();
    let viewer = token_user(&data.github);
    let (rate, window) = if limits {
        let w = if plan.dry_run {
            state.peek(&token, "graphql", HOUR)
        } else {
            state.charge(&token, "graphql", HOUR, cost.cost)
        };
        if w.used > budget {
            // Not served: give the points back; the client sees an empty budget.
            state.refund(&token, "graphql", cost.cost);
            let shown = Window { used: budget, ..w };
            let body = json!({"errors": [{
                "type": "RATE_LIMITED",
                "message": format!("API rate limit exceeded for user ID {}.", viewer.id),
            }]});
            return with_headers(json_200(serde_json::to_vec(&body).unwrap_or_default()), Some(shown));
        }
        let info = exec::RateInfo {
            cost: cost.cost,
            limit: budget,
            used: w.used,
            reset_at: w.reset_at,
            node_count: cost.nodes,
        };
        (Some(info), Some(w))
    } else {
        (None, None)
    };
    let urls = Urls::from_request(&req);
    let body = exec::execute(&data.github, &urls, &plan, rate, &viewer);
    drop(data);
    // Items for the per-item latency: the nodes answered (each carries an `id` or an `oid`).
    let items = body.windows(4).filter(|w| w == b"id\":").count() as u64;
    let mut res = json_200(body);
    res.extensions_mut().insert(crate::state::Items(items));
    with_headers(res, window)
}
