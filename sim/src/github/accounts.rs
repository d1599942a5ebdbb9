//! Accounts: `GET /orgs/{org}`, `/orgs/{org}/members`, `/users/{login}` and `/user/orgs`, what
//! clients such as PyGithub call first (`get_organization`, `get_members`, `get_user`,
//! `get_orgs`). Shapes: the organisation as octokit/fixtures recorded it from api.github.com
//! (`get-organization`, seen by an owner), users as GitHub's OpenAPI `public-user` and
//! `simple-user`, the list of organisations as `organization-simple`.
//!
//! Simplifications: every human user of the dataset is a member of the organisation (and no
//! one of another owner); `role` and `filter` of the member list are not applied; counts the
//! dataset has no source for (followers, gists) are 0.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::link::{Paging, Query, json_answer, page_answer};
use super::render::{Rest, Urls, is_bot, iso, org_id, org_node_id};
use crate::model::{GhUser, GithubData};
use crate::state::SimState;
use crate::upstream::github_json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}", web::get().to(org))
        .route("/orgs/{org}/members", web::get().to(members))
        .route("/users/{login}", web::get().to(user))
        .route("/user/orgs", web::get().to(my_orgs));
}

fn not_found() -> HttpResponse {
    github_json(StatusCode::NOT_FOUND, "Not Found")
}

fn answer(req: &HttpRequest, v: &Value) -> HttpResponse {
    json_answer(req, serde_json::to_vec(v).unwrap_or_default(), None)
}

/// The organisation's login as the dataset spells it, when `login` names one: the organisation,
/// or another owner of repositories that is not a user.
fn org_login<'a>(gh: &'a GithubData, login: &str) -> Option<&'a str> {
    if gh.org.eq_ignore_ascii_case(login) {
        return Some(&gh.org);
    }
    let is_user = gh.users.iter().any(|u| u.login.eq_ignore_ascii_case(login));
    gh.repos
        .iter()
        .find(|r| !is_user && r.owner.eq_ignore_ascii_case(login))
        .map(|r| r.owner.as_str())
}

/// The organisation's members: the dataset's human users (an organisation other than the
/// dataset's has none).
fn member_list<'a>(gh: &'a GithubData, org: &str) -> Vec<&'a GhUser> {
    if !gh.org.eq_ignore_ascii_case(org) {
        return Vec::new();
    }
    gh.users.iter().filter(|u| !is_bot(u)).collect()
}

/// When the organisation "was created" and last changed: its repositories' extremes.
fn org_times(gh: &GithubData, org: &str) -> (DateTime<Utc>, DateTime<Utc>) {
    let repos = || gh.repos.iter().filter(|r| r.owner.eq_ignore_ascii_case(org));
    let created = repos().map(|r| r.created_at).min().unwrap_or_else(Utc::now);
    let updated = repos().map(|r| r.updated_at).max().unwrap_or(created);
    (created, updated)
}

async fn org(req: HttpRequest, state: web::Data<SimState>, path: web::Path<String>) -> HttpResponse {
    let data = state.data();
    let Some(login) = org_login(&data.github, &path) else {
        return not_found();
    };
    let urls = Urls::from_request(&req);
    let rest = Rest::new(&urls, &data.github, data.now);
    answer(&req, &organization(&rest, login))
}

async fn members(req: HttpRequest, state: web::Data<SimState>, path: web::Path<String>) -> HttpResponse {
    let data = state.data();
    let Some(login) = org_login(&data.github, &path) else {
        return not_found();
    };
    let urls = Urls::from_request(&req);
    let rest = Rest::new(&urls, &data.github, data.now);
    let list = member_list(&data.github, login);
    let paging = Paging::from_query(&Query::from_request(&req));
    let page: Vec<Value> = list[paging.range(list.len())].iter().map(|u| rest.user(u)).collect();
    page_answer(&req, &urls.origin, paging, list.len(), page)
}

/// `GET /user/orgs`: the token's user belongs to the dataset's organisation.
async fn my_orgs(req: HttpRequest, state: web::Data<SimState>) -> HttpResponse {
    let data = state.data();
    let urls = Urls::from_request(&req);
    let rest = Rest::new(&urls, &data.github, data.now);
    let list = [Value::Object(organization_simple(&rest, &data.github.org))];
    let paging = Paging::from_query(&Query::from_request(&req));
    let page = list[paging.range(list.len())].to_vec();
    page_answer(&req, &urls.origin, paging, list.len(), page)
}

/// `GET /users/{login}`: a user's public profile, or an organisation's (`type` Organization).
async fn user(req: HttpRequest, state: web::Data<SimState>, path: web::Path<String>) -> HttpResponse {
    let data = state.data();
    let gh = &data.github;
    let urls = Urls::from_request(&req);
    let rest = Rest::new(&urls, gh, data.now);
    if let Some(u) = gh.users.iter().find(|u| u.login.eq_ignore_ascii_case(&path)) {
        return answer(&req, &rest.public_user(u));
    }
    let Some(login) = org_login(gh, &path) else {
        return not_found();
    };
    let (created, updated) = org_times(gh, login);
    let mut v = rest.account(login, org_id(login), &org_node_id(login), "Organization");
    extend(
        &mut v,
        json!({
            "name": login,
            "company": null,
            "blog": "",
            "location": null,
            "email": null,
            "hireable": null,
            "bio": null,
            "twitter_username": null,
            "public_repos": public_repos(gh, login),
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": iso(&created),
            "updated_at": iso(&updated),
        }),
    );
    answer(&req, &v)
}

fn extend(v: &mut Value, extra: Value) {
    if let (Value::Object(m), Value::Object(e)) = (v, extra) {
        m.extend(e);
    }
}

fn public_repos(gh: &GithubData, owner: &str) -> usize {
    gh.repos
        .iter()
        .filter(|r| r.owner.eq_ignore_ascii_case(owner) && !r.private)
        .count()
}

/// The "organization-simple" object (lists of organisations).
fn organization_simple(rest: &Rest<'_>, login: &str) -> Map<String, Value> {
    let api = format!("{}/orgs/{login}", rest.urls.api);
    let id = org_id(login);
    let mut m = Map::new();
    for (key, value) in [
        ("login", json!(login)),
        ("id", json!(id)),
        ("node_id", json!(org_node_id(login))),
        ("url", json!(api)),
        ("repos_url", json!(format!("{api}/repos"))),
        ("events_url", json!(format!("{api}/events"))),
        ("hooks_url", json!(format!("{api}/hooks"))),
        ("issues_url", json!(format!("{api}/issues"))),
        ("members_url", json!(format!("{api}/members{{/member}}"))),
        ("public_members_url", json!(format!("{api}/public_members{{/member}}"))),
        ("avatar_url", json!(rest.urls.avatar(id))),
        ("description", Value::Null),
    ] {
        m.insert(key.into(), value);
    }
    m
}

/// The "organization-full" object, with what an owner of the organisation sees.
fn organization(rest: &Rest<'_>, login: &str) -> Value {
    let gh = rest.gh;
    let (created, updated) = org_times(gh, login);
    let owned = || gh.repos.iter().filter(|r| r.owner.eq_ignore_ascii_case(login));
    let private = owned().filter(|r| r.private).count();
    let disk: usize = owned().map(|r| 1024 + r.pulls.len() * 16).sum();
    let seats = member_list(gh, login).len();
    let mut m = organization_simple(rest, login);
    for (key, value) in [
        ("name", json!(login)),
        ("company", Value::Null),
        ("blog", json!("")),
        ("location", Value::Null),
        ("email", Value::Null),
        ("twitter_username", Value::Null),
        ("is_verified", json!(false)),
        ("has_organization_projects", json!(true)),
        ("has_repository_projects", json!(true)),
        ("public_repos", json!(public_repos(gh, login))),
        ("public_gists", json!(0)),
        ("followers", json!(0)),
        ("following", json!(0)),
        ("html_url", json!(rest.urls.account_html(login, "Organization"))),
        ("created_at", json!(iso(&created))),
        ("updated_at", json!(iso(&updated))),
        ("archived_at", Value::Null),
        ("type", json!("Organization")),
        ("total_private_repos", json!(private)),
        ("owned_private_repos", json!(private)),
        ("private_gists", json!(0)),
        ("disk_usage", json!(disk)),
        ("collaborators", json!(0)),
        ("billing_email", Value::Null),
        ("default_repository_permission", json!("read")),
        ("members_can_create_repositories", json!(true)),
        ("two_factor_requirement_enabled", json!(false)),
        ("members_allowed_repository_creation_type", json!("all")),
        ("members_can_create_public_repositories", json!(true)),
        ("members_can_create_private_repositories", json!(true)),
        ("members_can_create_internal_repositories", json!(false)),
        ("members_can_create_pages", json!(true)),
        ("members_can_fork_private_repositories", json!(false)),
        ("members_can_create_public_pages", json!(true)),
        ("members_can_create_private_pages", json!(true)),
        ("web_commit_signoff_required", json!(false)),
        (
            "plan",
            json!({"name": "team", "space": 976562499, "private_repos": 999999, "filled_seats": seats, "seats": seats}),
        ),
    ] {
        m.insert(key.into(), value);
    }
    Value::Object(m)
}
