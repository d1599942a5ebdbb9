//! Simulated Jira Cloud (REST v3) and Jira Data Center (REST v2).
//!
//! Both flavours render the same dataset (`Dataset.jira`) through one renderer
//! ([`render::Ctx`]), differing where the real products differ: Cloud pages search results
//! with `nextPageToken` (no `total`, `fields` default `id`, unbounded JQL refused), embeds at
//! most `jira_cloud_changelog_cap` histories newest first and offers the full log through
//! `/issue/{id}/changelog` and `/changelog/bulkfetch`; Data Center pages with
//! `startAt`/`total`, defaults to `*navigable` and embeds the whole changelog. Users are
//! `accountId`-based on Cloud and `name`/`key`-based on Data Center. Authentication, faults
//! and rate limits are the upstream guard's business (`crate::upstream`).
//!
//! Known simplifications (each a choice, not an accident):
//! * JQL is a subset ([`jql`]); other real fields answer 400 with a message naming the
//!   simulator. Without ORDER BY results are in id order.
//! * Cloud page tokens are keyset cursors (the last issue's sort values) plus a hash of the
//!   JQL: stable while data changes, rejected (400) for another query; they do not expire.
//! * Data Center embeds changelogs oldest first: the recorded DC responses
//!   (`_raw_jira_api_issue_relationships.csv`) are in ascending order, Cloud's descending.
//! * One resolution ("Done", id 10000) for every resolved issue; `labels` is always `[]`;
//!   `creator` is the reporter; `parent` is rendered on both flavours.
//! * `GET …/issue/{id}?expand=changelog` on Cloud uses the same cap as search.
//! * `serverInfo.serverTime` is the simulated present (`Dataset.now`).

pub mod changelog;
pub mod index;
pub mod jql;
#[cfg(test)]
mod jql_tests;
pub mod json;
pub mod reference;
pub mod render;
pub mod search;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use self::json::Out;
use self::render::Flavor;
use super::model::{Dataset, JiraData};
use super::paths;
use super::upstream::{JIRA_CLOUD_EMAIL, jira_json};

/// Routes relative to the Jira Cloud site root. Cloud serves REST v3 and v2 side by side, with
/// the same resources; they differ in rich-text fields (ADF in v3), which the simulator does not
/// render. Clients pick either: python's `jira` library calls v2 unless told otherwise, and
/// probes `/rest/api/2/serverInfo` to tell the flavours apart.
pub fn configure_cloud(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(index::SearchCache::default()));
    for v in ["3", "2"] {
        let at = |path: &str| format!("/rest/api/{v}{path}");
        cfg.route(&at("/search/jql"), web::get().to(search::cloud_get))
            .route(&at("/search/jql"), web::post().to(search::cloud_post))
            .route(
                &at("/search/approximate-count"),
                web::post().to(search::approximate_count),
            )
            .route(&at("/search"), web::route().to(search::cloud_removed))
            .route(
                &at("/issue/{id_or_key}/changelog"),
                web::get().to(changelog::issue_changelog),
            )
            .route(&at("/changelog/bulkfetch"), web::post().to(changelog::bulkfetch))
            .route(&at("/issue/{id_or_key}"), web::get().to(reference::cloud_issue))
            .route(&at("/status"), web::get().to(reference::cloud_statuses))
            .route(&at("/statuscategory"), web::get().to(reference::cloud_categories))
            .route(&at("/issuetype"), web::get().to(reference::cloud_issue_types))
            .route(&at("/project"), web::get().to(reference::cloud_projects))
            .route(&at("/project/search"), web::get().to(reference::cloud_project_search))
            .route(&at("/project/{key}"), web::get().to(reference::cloud_project))
            .route(&at("/field"), web::get().to(reference::cloud_fields))
            .route(&at("/myself"), web::get().to(reference::cloud_myself))
            .route(&at("/user"), web::get().to(reference::cloud_user))
            .route(&at("/serverInfo"), web::get().to(reference::cloud_server_info));
    }
}

/// Routes relative to the Data Center context path.
pub fn configure_dc(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(index::SearchCache::default()))
        .route("/rest/api/2/search", web::get().to(search::dc_get))
        .route("/rest/api/2/search", web::post().to(search::dc_post))
        .route("/rest/api/2/issue/{id_or_key}", web::get().to(reference::dc_issue))
        .route("/rest/api/2/status", web::get().to(reference::dc_statuses))
        .route("/rest/api/2/statuscategory", web::get().to(reference::dc_categories))
        .route("/rest/api/2/issuetype", web::get().to(reference::dc_issue_types))
        .route("/rest/api/2/project", web::get().to(reference::dc_projects))
        .route("/rest/api/2/project/{key}", web::get().to(reference::dc_project))
        .route("/rest/api/2/field", web::get().to(reference::dc_fields))
        .route("/rest/api/2/myself", web::get().to(reference::dc_myself))
        .route("/rest/api/2/user", web::get().to(reference::dc_user))
        .route("/rest/api/2/serverInfo", web::get().to(reference::dc_server_info));
}

/// `scheme://host{scope}` as the client addressed us (the base of every `self` URL).
pub fn base_url(req: &HttpRequest, flavor: Flavor) -> String {
    let info = req.connection_info();
    let scope = match flavor {
        Flavor::Cloud => paths::JIRA_CLOUD,
        Flavor::Dc => paths::JIRA_DC,
    };
    format!("{}://{}{}", info.scheme(), info.host(), scope)
}

/// A rendering context for this request; on Cloud its `self` URLs name the REST version the
/// request came in on.
pub fn ctx<'a>(req: &HttpRequest, flavor: Flavor, data: &'a JiraData) -> render::Ctx<'a> {
    let mut cx = render::Ctx::new(flavor, data, base_url(req, flavor));
    if flavor == Flavor::Cloud && req.path().contains("/rest/api/2/") {
        cx.api = format!("{}/rest/api/2", cx.base);
    }
    cx
}

/// 200 with a body written by [`Out`] (Jira answers `application/json;charset=UTF-8`).
pub fn ok(out: Out) -> JiraResult {
    Ok(HttpResponse::Ok()
        .content_type("application/json;charset=UTF-8")
        .body(out.into_bytes()))
}

/// [`ok`], for an answer of `items` issues or changelog entries (the per-item latency).
pub fn ok_items(out: Out, items: usize) -> JiraResult {
    let mut res = ok(out)?;
    res.extensions_mut().insert(crate::state::Items(items as u64));
    Ok(res)
}

/// A Jira error answer (`{"errorMessages":[…],"errors":{}}`), small enough to pass around.
#[derive(Debug)]
pub struct JiraError {
    pub status: StatusCode,
    pub message: String,
}

impl std::fmt::Display for JiraError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl ResponseError for JiraError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        jira_json(self.status, &self.message)
    }
}

pub type JiraResult = Result<HttpResponse, JiraError>;

pub fn bad_request(msg: impl Into<String>) -> JiraError {
    JiraError {
        status: StatusCode::BAD_REQUEST,
        message: msg.into(),
    }
}

pub fn not_found(msg: impl Into<String>) -> JiraError {
    JiraError {
        status: StatusCode::NOT_FOUND,
        message: msg.into(),
    }
}

/// The API user's index in `users` (the account the simulator's credentials belong to).
pub fn api_user(data: &JiraData) -> Option<usize> {
    data.users
        .iter()
        .position(|u| u.email.eq_ignore_ascii_case(JIRA_CLOUD_EMAIL))
}

/// What JQL compilation needs from the dataset.
pub fn jql_env(data: &Dataset) -> jql::Env<'_> {
    jql::Env {
        data: &data.jira,
        tz: render::user_tz(&data.jira),
        now: data.now,
        current_user: api_user(&data.jira),
    }
}

/// Query-string pairs, keeping repeats (`fields=a&fields=b`).
pub struct QueryPairs(Vec<(String, String)>);

impl QueryPairs {
    pub fn parse(qs: &str) -> Self {
        Self(
            url::form_urlencoded::parse(qs.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// An integer parameter; `Err` carries Jira's complaint.
    pub fn int(&self, name: &str) -> Result<Option<i64>, JiraError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                bad_request(format!(
                    "The value '{v}' is not a valid number for the parameter '{name}'."
                ))
            }),
        }
    }
}
