//! Issue search: Cloud `GET|POST /rest/api/3/search/jql` (`nextPageToken`) and Data Center
//! `GET|POST /rest/api/2/search` (`startAt`/`total`).

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use actix_web::web::{Bytes, Data};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::index::SearchCache;
use super::jql::{self, Cursor};
use super::json::Out;
use super::render::{Ctx, Embed, FieldSet, Flavor};
use super::{JiraError, JiraResult, QueryPairs, bad_request, ctx, jql_env, ok, ok_items};
use crate::model::JiraIssue;
use crate::state::SimState;

pub const UNBOUNDED: &str =
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.";
pub const BAD_TOKEN: &str = "The provided next page token is invalid or expired.";

/// Jira's page size when `maxResults` is not given (both flavours).
const DEFAULT_MAX_RESULTS: i64 = 50;

/// A search request, from a query string or a JSON body.
#[derive(Debug, Default)]
pub struct SearchParams {
    pub jql: String,
    pub next_page_token: Option<String>,
    pub start_at: Option<i64>,
    pub max_results: Option<i64>,
    pub fields: Vec<String>,
    pub expand: Vec<String>,
}

impl SearchParams {
    fn from_query(q: &QueryPairs) -> Result<Self, JiraError> {
        Ok(Self {
            jql: q.get("jql").unwrap_or_default().to_string(),
            next_page_token: q.get("nextPageToken").filter(|t| !t.is_empty()).map(str::to_string),
            start_at: q.int("startAt")?,
            max_results: q.int("maxResults")?,
            fields: q.all("fields"),
            expand: q.all("expand"),
        })
    }

    /// `allowed`: the bean's properties (Jira rejects unknown ones).
    fn from_body(body: &[u8], allowed: &[&str]) -> Result<Self, JiraError> {
        let obj = json_object(body)?;
        reject_unknown(&obj, allowed)?;
        Ok(Self {
            jql: opt_string(&obj, "jql")?.unwrap_or_default(),
            next_page_token: opt_string(&obj, "nextPageToken")?.filter(|t| !t.is_empty()),
            start_at: opt_int(&obj, "startAt")?,
            max_results: opt_int(&obj, "maxResults")?,
            fields: string_list(&obj, "fields")?,
            expand: string_list(&obj, "expand")?,
        })
    }

    fn wants_changelog(&self) -> bool {
        self.expand
            .iter()
            .flat_map(|e| e.split(','))
            .any(|e| e.trim().eq_ignore_ascii_case("changelog"))
    }
}

// ---------------------------------------------------------------------------------------------
// JSON body helpers (shared with bulkfetch)

pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, JiraError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad_request("Request body must be a JSON object.")),
        Err(e) => Err(bad_request(format!("Unexpected character in request body: {e}"))),
    }
}

pub fn reject_unknown(obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), JiraError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(bad_request(format!(
            "Unrecognized field \"{k}\", not marked as ignorable."
        ))),
        None => Ok(()),
    }
}

pub fn opt_string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, JiraError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad_request(format!("'{key}' must be a string."))),
    }
}

pub fn opt_int(obj: &Map<String, Value>, key: &str) -> Result<Option<i64>, JiraError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad_request(format!("'{key}' must be an integer."))),
        Some(_) => Err(bad_request(format!("'{key}' must be an integer."))),
    }
}

/// An array of strings, or one (comma-separated) string.
pub fn string_list(obj: &Map<String, Value>, key: &str) -> Result<Vec<String>, JiraError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(bad_request(format!("'{key}' must be a list of strings."))),
            })
            .collect(),
        Some(_) => Err(bad_request(format!("'{key}' must be a list of strings."))),
    }
}

// ---------------------------------------------------------------------------------------------
// Page tokens: base64url("<hash of the JQL>.<cursor>"), keyset over the result order.

pub fn query_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

pub fn encode_token(hash: &str, cursor: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{hash}.{cursor}"))
}

/// The cursor part of a token issued for the query with `hash`.
pub fn decode_token(token: &str, hash: &str) -> Option<String> {
    let raw = URL_SAFE_NO_PAD.decode(token.trim().trim_end_matches('=')).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (h, cursor) = s.split_once('.')?;
    (h == hash).then(|| cursor.to_string())
}

// ---------------------------------------------------------------------------------------------
// Cloud

pub async fn cloud_get(req: HttpRequest, state: Data<SimState>, cache: Data<SearchCache>) -> JiraResult {
    let p = SearchParams::from_query(&QueryPairs::parse(req.query_string()))?;
    cloud_search(&req, &state, &cache, p)
}

pub async fn cloud_post(req: HttpRequest, state: Data<SimState>, cache: Data<SearchCache>, body: Bytes) -> JiraResult {
    const BEAN: &[&str] = &[
        "jql",
        "nextPageToken",
        "maxResults",
        "fields",
        "expand",
        "properties",
        "fieldsByKeys",
        "failFast",
        "reconcileIssues",
    ];
    cloud_search(&req, &state, &cache, SearchParams::from_body(&body, BEAN)?)
}

/// The legacy Cloud search is gone (CHANGE-2046); Cloud answers 410.
pub async fn cloud_removed() -> JiraResult {
    Err(JiraError {
        status: StatusCode::GONE,
        message: "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046".into(),
    })
}

fn cloud_search(req: &HttpRequest, state: &SimState, cache: &SearchCache, p: SearchParams) -> JiraResult {
    let cfg = state.config();
    let data = state.data();
    let query = match jql::compile(&p.jql, &jql_env(&data)) {
        Ok(q) => q,
        Err(e) => return Err(bad_request(e.0)),
    };
    if !query.is_bounded() {
        return Err(bad_request(UNBOUNDED));
    }
    let hash = query_hash(&[p.jql.trim()]);
    let cursor = match &p.next_page_token {
        None => None,
        Some(t) => match decode_token(t, &hash).and_then(|c| Cursor::decode(&c, &query.order)) {
            Some(c) => Some(c),
            None => return Err(bad_request(BAD_TOKEN)),
        },
    };
    let cap = cfg.jira_max_results.max(1) as i64;
    let max = p.max_results.unwrap_or(DEFAULT_MAX_RESULTS).clamp(1, cap) as usize;
    let issues = &data.jira.issues;
    let matches = cache.sorted_matches(issues, &query);
    let from = match &cursor {
        None => 0,
        Some(c) => {
            matches.partition_point(|&i| query.cmp_cursor(&issues[i as usize], c) != std::cmp::Ordering::Greater)
        }
    };
    let to = from.saturating_add(max).min(matches.len());
    let more = to < matches.len();
    let page: Vec<&JiraIssue> = matches[from..to].iter().map(|&i| &issues[i as usize]).collect();

    let fields = FieldSet::parse(&p.fields, FieldSet::ID_ONLY);
    let embed = if p.wants_changelog() {
        Embed::NewestFirst {
            cap: cfg.jira_cloud_changelog_cap,
        }
    } else {
        Embed::None
    };
    let cx = ctx(req, Flavor::Cloud, &data.jira);
    let mut out = Out::with_capacity(4_096);
    out.begin_obj();
    out.key("issues");
    write_issues(&mut out, &cx, &page, fields, embed);
    if more && let Some(last) = page.last() {
        out.kv_str("nextPageToken", &encode_token(&hash, &query.cursor_of(last).encode()));
    }
    out.kv_bool("isLast", !more);
    out.end_obj();
    ok_items(out, page.len())
}

/// `POST /rest/api/3/search/approximate-count` `{"jql"}` → `{"count"}`.
pub async fn approximate_count(state: Data<SimState>, cache: Data<SearchCache>, body: Bytes) -> JiraResult {
    let obj = json_object(&body)?;
    reject_unknown(&obj, &["jql"])?;
    let jql_text = opt_string(&obj, "jql")?.unwrap_or_default();
    let data = state.data();
    let query = match jql::compile(&jql_text, &jql_env(&data)) {
        Ok(q) => q,
        Err(e) => return Err(bad_request(e.0)),
    };
    if !query.is_bounded() {
        return Err(bad_request(UNBOUNDED));
    }
    let count = cache.sorted_matches(&data.jira.issues, &query).len();
    let mut out = Out::default();
    out.begin_obj();
    out.kv_int("count", count as i64);
    out.end_obj();
    ok(out)
}

// ---------------------------------------------------------------------------------------------
// Data Center

pub async fn dc_get(req: HttpRequest, state: Data<SimState>, cache: Data<SearchCache>) -> JiraResult {
    let p = SearchParams::from_query(&QueryPairs::parse(req.query_string()))?;
    dc_search(&req, &state, &cache, p)
}

pub async fn dc_post(req: HttpRequest, state: Data<SimState>, cache: Data<SearchCache>, body: Bytes) -> JiraResult {
    const BEAN: &[&str] = &[
        "jql",
        "startAt",
        "maxResults",
        "fields",
        "expand",
        "validateQuery",
        "properties",
        "fieldsByKeys",
    ];
    dc_search(&req, &state, &cache, SearchParams::from_body(&body, BEAN)?)
}

fn dc_search(req: &HttpRequest, state: &SimState, cache: &SearchCache, p: SearchParams) -> JiraResult {
    let cfg = state.config();
    let data = state.data();
    let query = match jql::compile(&p.jql, &jql_env(&data)) {
        Ok(q) => q,
        Err(e) => return Err(bad_request(e.0)),
    };
    let start = p.start_at.unwrap_or(0).max(0) as usize;
    let max = p
        .max_results
        .unwrap_or(DEFAULT_MAX_RESULTS)
        .clamp(0, cfg.jira_max_results as i64) as usize;
    let issues = &data.jira.issues;
    let matches = cache.sorted_matches(issues, &query);
    let total = matches.len();
    let page: Vec<&JiraIssue> = matches
        .get(start.min(total)..start.saturating_add(max).min(total))
        .unwrap_or_default()
        .iter()
        .map(|&i| &issues[i as usize])
        .collect();

    let fields = FieldSet::parse(&p.fields, FieldSet::ALL);
    let embed = if p.wants_changelog() { Embed::All } else { Embed::None };
    let cx = ctx(req, Flavor::Dc, &data.jira);
    let mut out = Out::with_capacity(4_096);
    out.begin_obj();
    out.kv_str("expand", "schema,names");
    out.kv_int("startAt", start as i64);
    out.kv_int("maxResults", max as i64);
    out.kv_int("total", total as i64);
    out.key("issues");
    write_issues(&mut out, &cx, &page, fields, embed);
    out.end_obj();
    ok_items(out, page.len())
}

/// The `issues` array; after the first issue the buffer grows once for the rest of the page.
fn write_issues(out: &mut Out, cx: &Ctx<'_>, page: &[&JiraIssue], fields: FieldSet, embed: Embed) {
    out.begin_arr();
    for (n, issue) in page.iter().enumerate() {
        let before = out.buf.len();
        cx.issue(out, issue, fields, embed);
        if n == 0 {
            let first = out.buf.len() - before;
            out.buf.reserve((first + first / 4) * (page.len() - 1));
        }
    }
    out.end_arr();
}
