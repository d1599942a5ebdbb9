//! `POST /gitlab/api/graphql`: GitLab's GraphQL API over the same dataset the REST routes
//! serve. Parsing with `graphql-parser` (as the simulated GitHub's), then [`plan`] (schema
//! checks with graphql-ruby's messages), GitLab's limits (complexity 250 for an authenticated
//! request, the knob `gitlab_max_complexity`; depth 15; pages of at most 100 nodes) and
//! [`exec`] answering only what was selected.
//! Authentication, rate limits (`RateLimit-*`, 429 + `Retry-After`), latency and faults are
//! those of every GitLab request ([`crate::upstream`]).
//!
//! Known differences: the schema is the slice a merge-request sync reads (projects, merge
//! requests with author, diff stats, approvals, notes and commits); connections page forward
//! only (`first`/`after`); complexity follows `Types::BaseField`'s rule for every connection
//! (GitLab adds a point more where a field calls Gitaly); `bot` is false for every user (the
//! REST answers carry no such flag either).

mod exec;
mod plan;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Web;
use crate::state::{Items, SimState};
use crate::upstream::gitlab_json;

/// `GitlabSchema::DEFAULT_MAX_DEPTH`.
pub const MAX_DEPTH: usize = 15;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    query: Option<String>,
    #[serde(default)]
    variables: Option<Value>,
    #[serde(default)]
    operation_name: Option<String>,
}

fn answer(body: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json; charset=utf-8")
        .body(serde_json::to_vec(body).unwrap_or_default())
}

fn errors(messages: Vec<Value>) -> HttpResponse {
    answer(&json!({ "errors": messages }))
}

pub async fn graphql(req: HttpRequest, body: web::Bytes, state: web::Data<SimState>) -> HttpResponse {
    let cfg = state.config();
    if !cfg.gitlab_graphql {
        // A GitLab from before GraphQL (or with it turned off) has no such route.
        return gitlab_json(StatusCode::NOT_FOUND, "404 Not Found");
    }
    let Ok(request) = serde_json::from_slice::<Request>(&body) else {
        return HttpResponse::BadRequest().json(json!({ "errors": [{ "message": "Invalid JSON body" }] }));
    };
    let Some(query) = request.query.filter(|q| !q.trim().is_empty()) else {
        return errors(vec![json!({ "message": "No query string was present" })]);
    };
    let variables: Map<String, Value> = match request.variables {
        Some(Value::Object(m)) => m,
        Some(Value::String(s)) if !s.trim().is_empty() => match serde_json::from_str(&s) {
            Ok(Value::Object(m)) => m,
            _ => return errors(vec![json!({ "message": "Unexpected end of document" })]),
        },
        _ => Map::new(),
    };
    let doc = match graphql_parser::parse_query::<&str>(&query) {
        Ok(d) => d,
        Err(e) => {
            let message = e.to_string().replace('\n', " ");
            return errors(vec![json!({ "message": message.trim() })]);
        }
    };
    let sels = match plan::plan(&doc, request.operation_name.as_deref(), &variables) {
        Ok(s) => s,
        Err(e) => return errors(e),
    };
    let depth = plan::depth(&sels);
    if depth > MAX_DEPTH {
        return errors(vec![json!({
            "message": format!("Query has depth of {depth}, which exceeds max depth of {MAX_DEPTH}")
        })]);
    }
    let complexity = plan::complexity(&sels);
    let limit = cfg.gitlab_max_complexity;
    if complexity > limit {
        return errors(vec![json!({
            "message": format!("Query has complexity of {complexity}, which exceeds max complexity of {limit}")
        })]);
    }
    let web = Web::from_request(&req);
    let data = state.data();
    let mut exec = exec::Exec {
        gh: &data.github,
        w: &web,
        complexity,
        limit,
        errors: Vec::new(),
        items: 0,
    };
    let out = exec.run(&sels);
    let mut body = json!({ "data": out });
    if !exec.errors.is_empty() {
        body["errors"] = Value::Array(std::mem::take(&mut exec.errors));
    }
    let items = exec.items;
    drop(data);
    let mut res = answer(&body);
    res.extensions_mut().insert(Items(items));
    res
}
