//! GitHub REST routes (relative to the API root of either flavour).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::link::{Paging, Query, json_answer, link_for, page_answer};
use super::render::{Rest, Urls, parse_time, pr_rest_state};
use crate::model::{GhCommit, GhPull, GhRepo, GhUser, GithubData};
use crate::state::{SimState, Upstream};
use crate::upstream::{github_json, github_limits_on};

const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/user", web::get().to(user))
        .route("/rate_limit", web::get().to(rate_limit))
        .route("/meta", web::get().to(meta))
        .route("/orgs/{org}/repos", web::get().to(org_repos))
        .route("/repos/{o}/{r}", web::get().to(repo))
        .route("/repos/{o}/{r}/pulls", web::get().to(pulls))
        .route("/repos/{o}/{r}/pulls/comments", web::get().to(repo_review_comments))
        .route("/repos/{o}/{r}/pulls/{n:\\d+}", web::get().to(pull))
        .route("/repos/{o}/{r}/pulls/{n:\\d+}/reviews", web::get().to(reviews))
        .route("/repos/{o}/{r}/pulls/{n:\\d+}/commits", web::get().to(pull_commits))
        .route(
            "/repos/{o}/{r}/pulls/{n:\\d+}/comments",
            web::get().to(pull_review_comments),
        )
        .route("/repos/{o}/{r}/issues/comments", web::get().to(repo_issue_comments))
        .route("/repos/{o}/{r}/issues/{n:\\d+}/comments", web::get().to(issue_comments))
        .route("/repos/{o}/{r}/deployments", web::get().to(deployments))
        .route(
            "/repos/{o}/{r}/deployments/{id:\\d+}/statuses",
            web::get().to(deployment_statuses),
        )
        .route("/repos/{o}/{r}/releases", web::get().to(releases))
        .route("/repos/{o}/{r}/actions/runs", web::get().to(runs))
        .default_service(web::to(not_found));
}

async fn not_found() -> HttpResponse {
    github_json(StatusCode::NOT_FOUND, "Not Found")
}

fn invalid(message: &str) -> HttpResponse {
    github_json(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// The token the middleware already accepted.
fn token(req: &HttpRequest) -> String {
    req.headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(_, t)| t.trim().to_string())
        .unwrap_or_default()
}

/// The account a token stands for: the first human user of the dataset.
pub fn token_user(gh: &GithubData) -> GhUser {
    gh.users
        .iter()
        .find(|u| !super::render::is_bot(u))
        .cloned()
        .unwrap_or_else(|| GhUser {
            id: 1,
            node_id: "MDQ6VXNlcjE=".into(),
            login: "sim-user".into(),
            name: "Simulated User".into(),
            email: "sim-user@example.com".into(),
            kind: "User".into(),
        })
}

/// A query parameter GitHub would reject with 422 "Validation Failed".
struct Invalid;

impl Invalid {
    fn answer(self) -> HttpResponse {
        invalid("Validation Failed")
    }
}

fn direction(q: &Query, default_desc: bool) -> Result<bool, Invalid> {
    match q.value("direction") {
        None => Ok(default_desc),
        Some("desc") => Ok(true),
        Some("asc") => Ok(false),
        Some(_) => Err(Invalid),
    }
}

fn since(q: &Query) -> Result<Option<DateTime<Utc>>, Invalid> {
    match q.value("since") {
        None => Ok(None),
        Some(s) => parse_time(s).map(Some).ok_or(Invalid),
    }
}

fn ordered(o: Ordering, desc: bool) -> Ordering {
    if desc { o.reverse() } else { o }
}

/// Renders the page `paging` of `items` (already filtered and ordered) with its Link header.
fn paged<T>(req: &HttpRequest, urls: &Urls, q: &Query, items: &[T], render: impl Fn(&T) -> Value) -> HttpResponse {
    let paging = Paging::from_query(q);
    let page: Vec<Value> = items[paging.range(items.len())].iter().map(render).collect();
    page_answer(req, &urls.origin, paging, items.len(), page)
}

fn answer(req: &HttpRequest, v: &Value) -> HttpResponse {
    json_answer(req, serde_json::to_vec(v).unwrap_or_default(), None)
}

type RepoPath = web::Path<(String, String)>;
type NumPath = web::Path<(String, String, u64)>;

async fn user(req: HttpRequest, state: web::Data<SimState>) -> HttpResponse {
    let data = state.data();
    let urls = Urls::from_request(&req);
    let rest = Rest::new(&urls, &data.github, data.now);
    answer(&req, &rest.auth_user(&token_user(&data.github)))
}

/// `GET /rate_limit`: does not count against the primary limit (the middleware charged it:
/// give that back, then peek). Enterprise with rate limiting off answers 404 like GHES.
async fn rate_limit(req: HttpRequest, state: web::Data<SimState>) -> HttpResponse {
    let cfg = state.config();
    let upstream = Upstream::from_path(req.path()).unwrap_or(Upstream::Github);
    if !github_limits_on(&cfg, upstream) {
        return github_json(StatusCode::NOT_FOUND, "Rate limiting is not enabled.");
    }
    let token = token(&req);
    state.refund(&token, "core", 1);
    let res = |limit: u32, w: crate::state::Window| {
        json!({
            "limit": limit,
            "used": w.used.min(limit),
            "remaining": limit.saturating_sub(w.used),
            "reset": w.reset_at.timestamp(),
        })
    };
    let core = res(cfg.github_rest_budget, state.peek(&token, "core", HOUR));
    let graphql = res(cfg.github_graphql_budget, state.peek(&token, "graphql", HOUR));
    let fresh_hour = state.peek("", "unused", HOUR);
    let fresh_minute = state.peek("", "unused", MINUTE);
    let body = json!({
        "resources": {
            "core": core,
            "search": res(30, state.peek(&token, "search", MINUTE)),
            "graphql": graphql,
            "integration_manifest": res(5000, fresh_hour),
            "source_import": res(100, fresh_minute),
            "code_scanning_upload": res(cfg.github_rest_budget, fresh_hour),
            "actions_runner_registration": res(10000, fresh_hour),
            "scim": res(15000, fresh_hour),
            "dependency_snapshots": res(100, fresh_minute),
            "code_search": res(10, fresh_minute),
            "code_scanning_autofix": res(10, fresh_minute),
        },
        "rate": core,
    });
    answer(&req, &body)
}

/// `GET /meta`; Enterprise reports its version.
async fn meta(req: HttpRequest) -> HttpResponse {
    let urls = Urls::from_request(&req);
    let mut body = json!({"verifiable_password_authentication": true});
    if urls.enterprise {
        body["installed_version"] = json!("3.19.0");
    }
    answer(&req, &body)
}

async fn org_repos(req: HttpRequest, state: web::Data<SimState>, path: web::Path<String>) -> HttpResponse {
    let org = path.into_inner();
    let data = state.data();
    let gh = &data.github;
    let known = gh.org.eq_ignore_ascii_case(&org) || gh.repos.iter().any(|r| r.owner.eq_ignore_ascii_case(&org));
    if !known {
        return github_json(StatusCode::NOT_FOUND, "Not Found");
    }
    let q = Query::from_request(&req);
    let kind = q.value("type").unwrap_or("all");
    let sort = q.value("sort").unwrap_or("created");
    let desc = match direction(&q, sort != "full_name") {
        Ok(d) => d,
        Err(e) => return e.answer(),
    };
    let mut repos: Vec<&GhRepo> = gh
        .repos
        .iter()
        .filter(|r| r.owner.eq_ignore_ascii_case(&org))
        .filter(|r| match kind {
            "public" => !r.private,
            "private" => r.private,
            "forks" => false,
            _ => true,
        })
        .collect();
    repos.sort_by(|a, b| {
        let o = match sort {
            "updated" => a.updated_at.cmp(&b.updated_at),
            "pushed" => a.pushed_at.cmp(&b.pushed_at),
            "full_name" => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            _ => a.created_at.cmp(&b.created_at),
        };
        ordered(o.then(a.id.cmp(&b.id)), desc)
    });
    let urls = Urls::from_request(&req);
    let rest = Rest::new(&urls, gh, data.now);
    paged(&req, &urls, &q, &repos, |r| rest.repo(r))
}

/// Runs `f` with the repository named in the path, or answers 404.
fn with_repo(
    req: &HttpRequest,
    state: &SimState,
    owner: &str,
    name: &str,
    f: impl FnOnce(&Rest, &Urls, &GhRepo) -> HttpResponse,
) -> HttpResponse {
    let data = state.data();
    let Some(repo) = data.github.repo(owner, name) else {
        return github_json(StatusCode::NOT_FOUND, "Not Found");
    };
    let urls = Urls::from_request(req);
    let rest = Rest::new(&urls, &data.github, data.now);
    f(&rest, &urls, repo)
}

/// Like [`with_repo`], for a pull request (its number is also the issue number).
fn with_pull(
    req: &HttpRequest,
    state: &SimState,
    (owner, name, number): (String, String, u64),
    f: impl FnOnce(&Rest, &Urls, &GhRepo, &GhPull) -> HttpResponse,
) -> HttpResponse {
    with_repo(req, state, &owner, &name, |rest, urls, repo| match repo.pull(number) {
        Some(pr) => f(rest, urls, repo, pr),
        None => github_json(StatusCode::NOT_FOUND, "Not Found"),
    })
}

async fn repo(req: HttpRequest, state: web::Data<SimState>, path: RepoPath) -> HttpResponse {
    let (o, r) = path.into_inner();
    with_repo(&req, &state, &o, &r, |rest, _, repo| {
        answer(&req, &rest.repo_single(repo))
    })
}

async fn pulls(req: HttpRequest, state: web::Data<SimState>, path: RepoPath) -> HttpResponse {
    let (o, r) = path.into_inner();
    with_repo(&req, &state, &o, &r, |rest, urls, repo| {
        let q = Query::from_request(&req);
        let st = q.value("state").unwrap_or("open");
        if !matches!(st, "open" | "closed" | "all") {
            return invalid("Validation Failed");
        }
        let sort = q.value("sort").unwrap_or("created");
        if !matches!(sort, "created" | "updated" | "popularity" | "long-running") {
            return invalid("Validation Failed");
        }
        let desc = match direction(&q, sort == "created") {
            Ok(d) => d,
            Err(e) => return e.answer(),
        };
        let head = q.value("head").map(|h| match h.split_once(':') {
            Some((user, r)) => (Some(user), r),
            None => (None, h),
        });
        let base = q.value("base");
        let now = rest.now;
        let month = chrono::Duration::days(30);
        let mut list: Vec<&GhPull> = repo
            .pulls
            .iter()
            .filter(|p| st == "all" || pr_rest_state(p) == st)
            .filter(|p| match head {
                Some((user, r)) => p.head_ref == r && user.is_none_or(|u| u.eq_ignore_ascii_case(&repo.owner)),
                None => true,
            })
            .filter(|p| base.is_none_or(|b| p.base_ref == b))
            .filter(|p| sort != "long-running" || (p.created_at < now - month && p.updated_at >= now - month))
            .collect();
        list.sort_by(|a, b| {
            let o = match sort {
                "updated" => a.updated_at.cmp(&b.updated_at),
                "popularity" => {
                    (a.comments.len() + a.review_comments.len()).cmp(&(b.comments.len() + b.review_comments.len()))
                }
                _ => a.created_at.cmp(&b.created_at),
            };
            ordered(o.then(a.number.cmp(&b.number)), desc)
        });
        let repo_json = rest.repo(repo);
        paged(&req, urls, &q, &list, |p| rest.pull(repo, &repo_json, p, false))
    })
}

async fn pull(req: HttpRequest, state: web::Data<SimState>, path: NumPath) -> HttpResponse {
    with_pull(&req, &state, path.into_inner(), |rest, _, repo, pr| {
        let repo_json = rest.repo(repo);
        answer(&req, &rest.pull(repo, &repo_json, pr, true))
    })
}

async fn reviews(req: HttpRequest, state: web::Data<SimState>, path: NumPath) -> HttpResponse {
    with_pull(&req, &state, path.into_inner(), |rest, urls, repo, pr| {
        let q = Query::from_request(&req);
        let list: Vec<_> = pr.reviews.iter().collect();
        paged(&req, urls, &q, &list, |r| rest.review(repo, pr, r))
    })
}

/// GitHub lists at most 250 commits of a pull request.
pub const PR_COMMITS_CAP: usize = 250;

async fn pull_commits(req: HttpRequest, state: web::Data<SimState>, path: NumPath) -> HttpResponse {
    with_pull(&req, &state, path.into_inner(), |rest, urls, repo, pr| {
        let q = Query::from_request(&req);
        let list: Vec<usize> = (0..pr.commits.len().min(PR_COMMITS_CAP)).collect();
        paged(&req, urls, &q, &list, |&i| rest.pr_commit(repo, pr, i))
    })
}

/// Sort key of comment lists: `created` (the default) or `updated`.
fn comment_sort(q: &Query, allowed: &[&str]) -> Result<(bool, bool), Invalid> {
    let sort = q.value("sort");
    if let Some(s) = sort
        && !allowed.contains(&s)
    {
        return Err(Invalid);
    }
    let by_updated = sort == Some("updated");
    // `direction` is ignored without `sort`; with it, the default is descending.
    let desc = if sort.is_some() { direction(q, true)? } else { false };
    Ok((by_updated, desc))
}

async fn pull_review_comments(req: HttpRequest, state: web::Data<SimState>, path: NumPath) -> HttpResponse {
    with_pull(&req, &state, path.into_inner(), |rest, urls, repo, pr| {
        let q = Query::from_request(&req);
        let (by_updated, desc) = match comment_sort(&q, &["created", "updated"]) {
            Ok(s) => s,
            Err(e) => return e.answer(),
        };
        let since = match since(&q) {
            Ok(s) => s,
            Err(e) => return e.answer(),
        };
        let mut list: Vec<_> = pr
            .review_comments
            .iter()
            .filter(|c| since.is_none_or(|s| c.updated_at >= s))
            .collect();
        list.sort_by(|a, b| {
            let o = if by_updated {
                a.updated_at.cmp(&b.updated_at)
            } else {
                a.created_at.cmp(&b.created_at)
            };
            ordered(o.then(a.id.cmp(&b.id)), desc)
        });
        paged(&req, urls, &q, &list, |c| rest.review_comment(repo, pr, c))
    })
}

async fn repo_review_comments(req: HttpRequest, state: web::Data<SimState>, path: RepoPath) -> HttpResponse {
    let (o, r) = path.into_inner();
    with_repo(&req, &state, &o, &r, |rest, urls, repo| {
        let q = Query::from_request(&req);
        let (by_updated, desc) = match comment_sort(&q, &["created", "updated", "created_at"]) {
            Ok(s) => s,
            Err(e) => return e.answer(),
        };
        let since = match since(&q) {
            Ok(s) => s,
            Err(e) => return e.answer(),
        };
        let mut list: Vec<(&GhPull, usize)> = repo
            .pulls
            .iter()
            .flat_map(|p| (0..p.review_comments.len()).map(move |i| (p, i)))
            .filter(|(p, i)| since.is_none_or(|s| p.review_comments[*i].updated_at >= s))
            .collect();
        list.sort_by(|(pa, ia), (pb, ib)| {
            let (a, b) = (&pa.review_comments[*ia], &pb.review_comments[*ib]);
            let o = if by_updated {
                a.updated_at.cmp(&b.updated_at)
            } else {
                a.created_at.cmp(&b.created_at)
            };
            ordered(o.then(a.id.cmp(&b.id)), desc)
        });
        paged(&req, urls, &q, &list, |(p, i)| {
            rest.review_comment(repo, p, &p.review_comments[*i])
        })
    })
}

async fn issue_comments(req: HttpRequest, state: web::Data<SimState>, path: NumPath) -> HttpResponse {
    with_pull(&req, &state, path.into_inner(), |rest, urls, repo, pr| {
        let q = Query::from_request(&req);
        let since = match since(&q) {
            Ok(s) => s,
            Err(e) => return e.answer(),
        };
        let mut list: Vec<_> = pr
            .comments
            .iter()
            .filter(|c| since.is_none_or(|s| c.updated_at >= s))
            .collect();
        list.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        paged(&req, urls, &q, &list, |c| rest.issue_comment(repo, pr, c))
    })
}

async fn repo_issue_comments(req: HttpRequest, state: web::Data<SimState>, path: RepoPath) -> HttpResponse {
    let (o, r) = path.into_inner();
    with_repo(&req, &state, &o, &r, |rest, urls, repo| {
        let q = Query::from_request(&req);
        let (by_updated, desc) = match comment_sort(&q, &["created", "updated"]) {
            Ok(s) => s,
            Err(e) => return e.answer(),
        };
        let since = match since(&q) {
            Ok(s) => s,
            Err(e) => return e.answer(),
        };
        let mut list: Vec<(&GhPull, usize)> = repo
            .pulls
            .iter()
            .flat_map(|p| (0..p.comments.len()).map(move |i| (p, i)))
            .filter(|(p, i)| since.is_none_or(|s| p.comments[*i].updated_at >= s))
            .collect();
        list.sort_by(|(pa, ia), (pb, ib)| {
            let (a, b) = (&pa.comments[*ia], &pb.comments[*ib]);
            let o = if by_updated {
                a.updated_at.cmp(&b.updated_at)
            } else {
                a.created_at.cmp(&b.created_at)
            };
            ordered(o.then(a.id.cmp(&b.id)), desc)
        });
        paged(&req, urls, &q, &list, |(p, i)| {
            rest.issue_comment(repo, p, &p.comments[*i])
        })
    })
}

async fn deployments(req: HttpRequest, state: web::Data<SimState>, path: RepoPath) -> HttpResponse {
    let (o, r) = path.into_inner();
    with_repo(&req, &state, &o, &r, |rest, urls, repo| {
        let q = Query::from_request(&req);
        // The spec documents `none` as the default of each filter: treat it as absent.
        let filter = |k: &str| q.value(k).filter(|v| *v != "none");
        let (sha, rf, task, env) = (filter("sha"), filter("ref"), filter("task"), filter("environment"));
        let mut list: Vec<_> = repo
            .deployments
            .iter()
            .filter(|d| sha.is_none_or(|s| d.sha == s))
            .filter(|d| rf.is_none_or(|s| d.r#ref == s))
            .filter(|d| task.is_none_or(|s| d.task == s))
            .filter(|d| env.is_none_or(|s| d.environment == s))
            .collect();
        list.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        paged(&req, urls, &q, &list, |d| rest.deployment(repo, d))
    })
}

async fn deployment_statuses(req: HttpRequest, state: web::Data<SimState>, path: NumPath) -> HttpResponse {
    let (o, r, id) = path.into_inner();
    with_repo(&req, &state, &o, &r, |rest, urls, repo| {
        let Some(d) = repo.deployments.iter().find(|d| d.id == id) else {
            return github_json(StatusCode::NOT_FOUND, "Not Found");
        };
        let q = Query::from_request(&req);
        let list: Vec<_> = d.statuses.iter().rev().collect();
        paged(&req, urls, &q, &list, |s| rest.deployment_status(repo, d, s))
    })
}

async fn releases(req: HttpRequest, state: web::Data<SimState>, path: RepoPath) -> HttpResponse {
    let (o, r) = path.into_inner();
    with_repo(&req, &state, &o, &r, |rest, urls, repo| {
        let q = Query::from_request(&req);
        let mut list: Vec<_> = repo.releases.iter().collect();
        list.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        paged(&req, urls, &q, &list, |r| rest.release(repo, r))
    })
}

/// A `created` filter in GitHub's search date syntax: `>=D`, `>D`, `<=D`, `<D`, `A..B`
/// (either side `*`), or a bare date/time. Dates without a time cover the whole day.
#[derive(Debug, Default, Clone, Copy)]
pub struct DateRange {
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
}

impl DateRange {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        // (start, end-exclusive) of a bound: a day or an instant.
        let bound = |v: &str| -> Option<(DateTime<Utc>, DateTime<Utc>)> {
            let v = v.trim();
            let t = parse_time(v)?;
            let day_only = v.len() == 10;
            let end = if day_only {
                t + chrono::Duration::days(1)
            } else {
                t + chrono::Duration::seconds(1)
            };
            Some((t, end))
        };
        let r = if let Some(v) = s.strip_prefix(">=") {
            Self {
                from: Some(bound(v)?.0),
                until: None,
            }
        } else if let Some(v) = s.strip_prefix("<=") {
            Self {
                from: None,
                until: Some(bound(v)?.1),
            }
        } else if let Some(v) = s.strip_prefix('>') {
            Self {
                from: Some(bound(v)?.1),
                until: None,
            }
        } else if let Some(v) = s.strip_prefix('<') {
            Self {
                from: None,
                until: Some(bound(v)?.0),
            }
        } else if let Some((a, b)) = s.split_once("..") {
            Self {
                from: if a.trim() == "*" { None } else { Some(bound(a)?.0) },
                until: if b.trim() == "*" { None } else { Some(bound(b)?.1) },
            }
        } else {
            let (a, b) = bound(s)?;
            Self {
                from: Some(a),
                until: Some(b),
            }
        };
        Some(r)
    }

    pub fn contains(&self, t: &DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| *t >= f) && self.until.is_none_or(|u| *t < u)
    }
}

async fn runs(req: HttpRequest, state: web::Data<SimState>, path: RepoPath) -> HttpResponse {
    let (o, r) = path.into_inner();
    with_repo(&req, &state, &o, &r, |rest, urls, repo| {
        let q = Query::from_request(&req);
        let created = match q.value("created").map(DateRange::parse) {
            None => None,
            Some(Some(r)) => Some(r),
            Some(None) => return invalid("Validation Failed"),
        };
        let actor = q.value("actor");
        let branch = q.value("branch");
        let event = q.value("event");
        let status = q.value("status");
        let head_sha = q.value("head_sha");
        let check_suite = q.value("check_suite_id").and_then(|v| v.parse::<u64>().ok());
        let users = &rest.gh.users;
        let mut list: Vec<_> = repo
            .workflow_runs
            .iter()
            .filter(|r| branch.is_none_or(|b| r.head_branch == b))
            .filter(|r| event.is_none_or(|e| r.event == e))
            .filter(|r| status.is_none_or(|s| r.status == s || r.conclusion.as_deref() == Some(s)))
            .filter(|r| head_sha.is_none_or(|h| r.head_sha == h))
            .filter(|r| created.is_none_or(|c| c.contains(&r.created_at)))
            .filter(|r| actor.is_none_or(|a| users.get(r.actor).is_some_and(|u| u.login == a)))
            .filter(|r| check_suite.is_none_or(|c| r.id.wrapping_mul(3).wrapping_add(7) == c))
            .collect();
        list.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        let paging = Paging::from_query(&q);
        let page = &list[paging.range(list.len())];
        let commits: HashMap<&str, &GhCommit> = if page.is_empty() {
            HashMap::new()
        } else {
            repo.pulls
                .iter()
                .flat_map(|p| p.commits.iter())
                .map(|c| (c.sha.as_str(), c))
                .collect()
        };
        let repo_json = Value::Object(rest.repo_minimal(repo));
        let items: Vec<Value> = page.iter().map(|r| rest.run(repo, &repo_json, r, &commits)).collect();
        let body = json!({"total_count": list.len(), "workflow_runs": items});
        json_answer(
            &req,
            serde_json::to_vec(&body).unwrap_or_default(),
            link_for(&req, &urls.origin, paging, list.len()),
        )
    })
}
