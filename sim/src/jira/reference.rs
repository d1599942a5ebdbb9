//! Single issues, reference data and connection-test endpoints, for both flavours.

use actix_web::HttpRequest;
use actix_web::web::{Data, Path};

use super::changelog::NO_ISSUE;
use super::json::{Out, jira_time};
use super::render::{Ctx, Embed, FieldSet, Flavor, ProjectForm, STATUS_CATEGORIES};
use super::{JiraResult, QueryPairs, api_user, ctx, not_found, ok};
use crate::model::{JiraUser, STORY_POINTS_FIELD};
use crate::state::SimState;
use crate::upstream::JIRA_CLOUD_EMAIL;

// ---------------------------------------------------------------------------------------------
// Issue

pub async fn cloud_issue(req: HttpRequest, state: Data<SimState>, path: Path<String>) -> JiraResult {
    issue(&req, &state, &path.into_inner(), Flavor::Cloud)
}

pub async fn dc_issue(req: HttpRequest, state: Data<SimState>, path: Path<String>) -> JiraResult {
    issue(&req, &state, &path.into_inner(), Flavor::Dc)
}

/// `GET …/issue/{idOrKey}?fields=&expand=` — fields default `*all`.
fn issue(req: &HttpRequest, state: &SimState, id_or_key: &str, flavor: Flavor) -> JiraResult {
    let q = QueryPairs::parse(req.query_string());
    let fields = FieldSet::parse(&q.all("fields"), FieldSet::ALL);
    let wants_changelog = q
        .all("expand")
        .iter()
        .flat_map(|e| e.split(','))
        .any(|e| e.trim().eq_ignore_ascii_case("changelog"));
    let embed = match (wants_changelog, flavor) {
        (false, _) => Embed::None,
        (true, Flavor::Cloud) => Embed::NewestFirst {
            cap: state.config().jira_cloud_changelog_cap,
        },
        (true, Flavor::Dc) => Embed::All,
    };
    let data = state.data();
    let Some(issue) = data.jira.issue_by_id_or_key(id_or_key) else {
        return Err(not_found(NO_ISSUE));
    };
    let cx = ctx(req, flavor, &data.jira);
    let mut out = Out::with_capacity(8_192);
    cx.issue(&mut out, issue, fields, embed);
    ok(out)
}

// ---------------------------------------------------------------------------------------------
// Statuses, categories, issue types, fields

pub async fn cloud_statuses(req: HttpRequest, state: Data<SimState>) -> JiraResult {
    statuses(&req, &state, Flavor::Cloud)
}

pub async fn dc_statuses(req: HttpRequest, state: Data<SimState>) -> JiraResult {
    statuses(&req, &state, Flavor::Dc)
}

fn statuses(req: &HttpRequest, state: &SimState, flavor: Flavor) -> JiraResult {
    let data = state.data();
    let cx = ctx(req, flavor, &data.jira);
    let mut out = Out::default();
    out.begin_arr();
    for s in &data.jira.statuses {
        cx.write_status(&mut out, s);
    }
    out.end_arr();
    ok(out)
}

pub async fn cloud_categories(req: HttpRequest, state: Data<SimState>) -> JiraResult {
    categories(&req, &state, Flavor::Cloud)
}

pub async fn dc_categories(req: HttpRequest, state: Data<SimState>) -> JiraResult {
    categories(&req, &state, Flavor::Dc)
}

fn categories(req: &HttpRequest, state: &SimState, flavor: Flavor) -> JiraResult {
    let data = state.data();
    let cx = ctx(req, flavor, &data.jira);
    let mut out = Out::default();
    out.begin_arr();
    let mut cats: Vec<_> = STATUS_CATEGORIES.iter().collect();
    cats.sort_by_key(|c| c.id);
    for c in cats {
        cx.write_category(&mut out, c);
    }
    out.end_arr();
    ok(out)
}

pub async fn cloud_issue_types(req: HttpRequest, state: Data<SimState>) -> JiraResult {
    issue_types(&req, &state, Flavor::Cloud)
}

pub async fn dc_issue_types(req: HttpRequest, state: Data<SimState>) -> JiraResult {
    issue_types(&req, &state, Flavor::Dc)
}

fn issue_types(req: &HttpRequest, state: &SimState, flavor: Flavor) -> JiraResult {
    let data = state.data();
    let cx = ctx(req, flavor, &data.jira);
    let mut out = Out::default();
    out.begin_arr();
    for t in &data.jira.issue_types {
        cx.write_issue_type(&mut out, t);
    }
    out.end_arr();
    ok(out)
}

pub async fn cloud_fields() -> JiraResult {
    fields(Flavor::Cloud)
}

pub async fn dc_fields() -> JiraResult {
    fields(Flavor::Dc)
}

/// `GET …/field`: the fields issues carry, with their JQL names and schemas.
fn fields(flavor: Flavor) -> JiraResult {
    let story_points = match flavor {
        Flavor::Cloud => "Story point estimate",
        Flavor::Dc => "Story Points",
    };
    let system: [(&str, &str, &str); 14] = [
        ("summary", "Summary", "string"),
        ("status", "Status", "status"),
        ("issuetype", "Issue Type", "issuetype"),
        ("project", "Project", "project"),
        ("priority", "Priority", "priority"),
        ("assignee", "Assignee", "user"),
        ("reporter", "Reporter", "user"),
        ("creator", "Creator", "user"),
        ("created", "Created", "datetime"),
        ("updated", "Updated", "datetime"),
        ("resolutiondate", "Resolved", "datetime"),
        ("resolution", "Resolution", "resolution"),
        ("parent", "Parent", "issuelink"),
        ("labels", "Labels", "array"),
    ];
    let mut out = Out::default();
    out.begin_arr();
    for (id, name, ty) in system {
        out.begin_obj();
        out.kv_str("id", id);
        out.kv_str("key", id);
        out.kv_str("name", name);
        out.kv_bool("custom", false);
        out.kv_bool("orderable", true);
        out.kv_bool("navigable", true);
        out.kv_bool("searchable", true);
        out.key("clauseNames");
        out.begin_arr();
        out.str(id);
        out.end_arr();
        out.key("schema");
        out.begin_obj();
        out.kv_str("type", ty);
        if ty == "array" {
            out.kv_str("items", "string");
        }
        out.kv_str("system", id);
        out.end_obj();
        out.end_obj();
    }
    out.begin_obj();
    out.kv_str("id", STORY_POINTS_FIELD);
    out.kv_str("key", STORY_POINTS_FIELD);
    out.kv_str("name", story_points);
    out.kv_bool("custom", true);
    out.kv_bool("orderable", true);
    out.kv_bool("navigable", true);
    out.kv_bool("searchable", true);
    out.key("clauseNames");
    out.begin_arr();
    out.str("cf[10016]");
    out.str(story_points);
    out.end_arr();
    out.key("schema");
    out.begin_obj();
    out.kv_str("type", "number");
    out.kv_str("custom", "com.pyxis.greenhopper.jira:jsw-story-points");
    out.kv_int("customId", 10016);
    out.end_obj();
    out.end_obj();
    out.end_arr();
    ok(out)
}

// ---------------------------------------------------------------------------------------------
// Projects

/// `GET /rest/api/3/project/search?startAt=&maxResults=&keys=&id=&query=` (`PageBeanProject`).
pub async fn cloud_project_search(req: HttpRequest, state: Data<SimState>) -> JiraResult {
    let q = QueryPairs::parse(req.query_string());
    let start = q.int("startAt")?.unwrap_or(0).max(0) as usize;
    let max = q.int("maxResults")?.unwrap_or(50).clamp(1, 100) as usize;
    let split = |name: &str| -> Vec<String> {
        q.all(name)
            .iter()
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let keys = split("keys");
    let ids = split("id");
    let text = q.get("query").unwrap_or_default().to_lowercase();
    let data = state.data();
    let mut projects: Vec<_> = data
        .jira
        .projects
        .iter()
        .filter(|p| keys.is_empty() || keys.iter().any(|k| k.eq_ignore_ascii_case(&p.key)))
        .filter(|p| ids.is_empty() || ids.contains(&p.id))
        .filter(|p| text.is_empty() || p.key.to_lowercase().contains(&text) || p.name.to_lowercase().contains(&text))
        .collect();
    projects.sort_by(|a, b| a.key.cmp(&b.key));
    let total = projects.len();
    let end = start.saturating_add(max).min(total);
    let is_last = end >= total;
    let cx = ctx(&req, Flavor::Cloud, &data.jira);
    let page_url = |at: usize| format!("{}/project/search?startAt={at}&maxResults={max}", cx.api);
    let mut out = Out::default();
    out.begin_obj();
    out.kv_str("self", &page_url(start));
    if !is_last {
        out.kv_str("nextPage", &page_url(end));
    }
    out.kv_int("maxResults", max as i64);
    out.kv_int("startAt", start as i64);
    out.kv_int("total", total as i64);
    out.kv_bool("isLast", is_last);
    out.key("values");
    out.begin_arr();
    for p in projects.get(start..end).unwrap_or_default() {
        cx.write_project(&mut out, p, ProjectForm::Listed);
    }
    out.end_arr();
    out.end_obj();
    ok(out)
}

/// Cloud `GET /rest/api/{3|2}/project` (deprecated there for `/project/search`, still what
/// clients such as python's `jira` call): a plain array, as on Data Center.
pub async fn cloud_projects(req: HttpRequest, state: Data<SimState>) -> JiraResult {
    projects(&req, &state, Flavor::Cloud)
}

/// Data Center `GET /rest/api/2/project`: a plain array.
pub async fn dc_projects(req: HttpRequest, state: Data<SimState>) -> JiraResult {
    projects(&req, &state, Flavor::Dc)
}

fn projects(req: &HttpRequest, state: &SimState, flavor: Flavor) -> JiraResult {
    let data = state.data();
    let cx = ctx(req, flavor, &data.jira);
    let mut projects: Vec<_> = data.jira.projects.iter().collect();
    projects.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = Out::default();
    out.begin_arr();
    for p in projects {
        cx.write_project(&mut out, p, ProjectForm::Listed);
    }
    out.end_arr();
    ok(out)
}

pub async fn cloud_project(req: HttpRequest, state: Data<SimState>, path: Path<String>) -> JiraResult {
    project(&req, &state, &path.into_inner(), Flavor::Cloud)
}

pub async fn dc_project(req: HttpRequest, state: Data<SimState>, path: Path<String>) -> JiraResult {
    project(&req, &state, &path.into_inner(), Flavor::Dc)
}

fn project(req: &HttpRequest, state: &SimState, key: &str, flavor: Flavor) -> JiraResult {
    let data = state.data();
    let Some(p) = data
        .jira
        .projects
        .iter()
        .find(|p| p.key.eq_ignore_ascii_case(key) || p.id == key)
    else {
        return Err(not_found(format!("No project could be found with key '{key}'.")));
    };
    let cx = ctx(req, flavor, &data.jira);
    let mut out = Out::default();
    cx.write_project(&mut out, p, ProjectForm::Detail);
    ok(out)
}

// ---------------------------------------------------------------------------------------------
// Users and server

/// The account the simulator's credentials belong to: the dataset user with the simulator's
/// e-mail, else a stand-in. Its `timeZone` is always the dataset's `user_time_zone`.
fn api_account(cx: &Ctx<'_>) -> JiraUser {
    let mut u = api_user(cx.data)
        .and_then(|i| cx.data.users.get(i).cloned())
        .unwrap_or_else(|| JiraUser {
            account_id: "712020:5f0c2c52-9a5e-4c2b-8d3e-51a0c0ffee01".into(),
            name: "sim".into(),
            display_name: "Simulator API user".into(),
            email: JIRA_CLOUD_EMAIL.into(),
            time_zone: String::new(),
        });
    u.time_zone = if cx.data.user_time_zone.is_empty() {
        "UTC".into()
    } else {
        cx.data.user_time_zone.clone()
    };
    u
}

pub async fn cloud_myself(req: HttpRequest, state: Data<SimState>) -> JiraResult {
    myself(&req, &state, Flavor::Cloud)
}

pub async fn dc_myself(req: HttpRequest, state: Data<SimState>) -> JiraResult {
    myself(&req, &state, Flavor::Dc)
}

fn myself(req: &HttpRequest, state: &SimState, flavor: Flavor) -> JiraResult {
    let data = state.data();
    let cx = ctx(req, flavor, &data.jira);
    let mut out = Out::default();
    cx.write_user(&mut out, &api_account(&cx), true);
    ok(out)
}

pub async fn cloud_user(req: HttpRequest, state: Data<SimState>) -> JiraResult {
    user(&req, &state, Flavor::Cloud)
}

pub async fn dc_user(req: HttpRequest, state: Data<SimState>) -> JiraResult {
    user(&req, &state, Flavor::Dc)
}

/// Cloud `GET /user?accountId=`; Data Center `GET /user?username=` (or `key=`).
fn user(req: &HttpRequest, state: &SimState, flavor: Flavor) -> JiraResult {
    let q = QueryPairs::parse(req.query_string());
    let data = state.data();
    let cx = ctx(req, flavor, &data.jira);
    let api = api_account(&cx);
    let found = match flavor {
        Flavor::Cloud => q.get("accountId").and_then(|id| {
            std::iter::once(&api)
                .chain(data.jira.users.iter())
                .find(|u| u.account_id == id)
        }),
        Flavor::Dc => q.get("username").or_else(|| q.get("key")).and_then(|n| {
            std::iter::once(&api)
                .chain(data.jira.users.iter())
                .find(|u| u.name.eq_ignore_ascii_case(n))
        }),
    };
    let Some(u) = found else {
        return Err(match flavor {
            Flavor::Cloud => not_found("Specified user does not exist or you do not have required permissions"),
            Flavor::Dc => not_found(format!(
                "The user named '{}' does not exist",
                q.get("username").or_else(|| q.get("key")).unwrap_or_default()
            )),
        });
    };
    let mut out = Out::default();
    cx.write_user(&mut out, u, true);
    ok(out)
}

pub async fn cloud_server_info(req: HttpRequest, state: Data<SimState>) -> JiraResult {
    server_info(&req, &state, Flavor::Cloud)
}

pub async fn dc_server_info(req: HttpRequest, state: Data<SimState>) -> JiraResult {
    server_info(&req, &state, Flavor::Dc)
}

/// `serverTime` is the simulated present (`Dataset.now`), in UTC.
fn server_info(req: &HttpRequest, state: &SimState, flavor: Flavor) -> JiraResult {
    let data = state.data();
    let cx = ctx(req, flavor, &data.jira);
    let utc = chrono_tz::Tz::UTC;
    let (version, numbers, build, deployment): (&str, [i64; 3], i64, &str) = match flavor {
        Flavor::Cloud => ("1001.0.0-SNAPSHOT", [1001, 0, 0], 100_296, "Cloud"),
        Flavor::Dc => ("9.12.0", [9, 12, 0], 9_120_000, "Server"),
    };
    let mut out = Out::default();
    out.begin_obj();
    out.kv_str("baseUrl", &cx.base);
    if flavor == Flavor::Cloud {
        out.kv_str("displayUrl", &cx.base);
    }
    out.kv_str("version", version);
    out.key("versionNumbers");
    out.begin_arr();
    for n in numbers {
        out.int(n);
    }
    out.end_arr();
    out.kv_str("deploymentType", deployment);
    out.kv_int("buildNumber", build);
    let build_date = data.now - chrono::Duration::days(30);
    out.kv_str("buildDate", &jira_time(&build_date, &utc));
    if flavor == Flavor::Dc {
        out.kv_int("databaseBuildNumber", build);
    }
    out.kv_str("serverTime", &jira_time(&data.now, &utc));
    out.kv_str("scmInfo", "5a1e7c0ffee5a1e7c0ffee5a1e7c0ffee5a1e7c0");
    out.kv_str("serverTitle", "Jira");
    if flavor == Flavor::Cloud {
        out.key("defaultLocale");
        out.begin_obj();
        out.kv_str("locale", "en_US");
        out.end_obj();
        out.kv_str("serverTimeZone", "Etc/UTC");
    }
    out.end_obj();
    ok(out)
}
