//! Simulated GitLab REST v4 (gitlab.com, or self-managed at the root of its host), under
//! `/gitlab/api/v4`, over the generated Git history: the same repositories, pull requests,
//! reviews, comments, commits, deployments and workflow runs GitHub serves, as GitLab sends
//! them: projects in a group and a subgroup, merge requests (`iid` per project), notes with
//! GitLab's system notes, approvals, pipelines, deployments with environments.
//!
//! Paging as GitLab's: offset (`page`, `per_page` up to 100, default 20) with `x-page`,
//! `x-per-page`, `x-next-page`, `x-prev-page`, `x-total`, `x-total-pages` (the two totals left
//! out above 10,000 rows, as GitLab does) and a `Link` header; keyset (`pagination=keyset`,
//! `order_by=id`) for group projects, with only `Link` (`id_after`), as GitLab offers it for
//! projects. Authentication, rate limits (`RateLimit-*`, 429 + `Retry-After`) and faults:
//! [`crate::upstream`].
//!
//! Known differences (on purpose, or for lack of data):
//! * The group is the GitHub organisation's name; the second of every three repositories sits in its subgroup
//!   `platform`. GitHub ids are reused as GitLab ids (projects, merge requests, notes);
//!   system notes, environments, groups and approvals' ids are derived.
//! * Approvals have no time on GitLab's `/approvals` (as on GitLab); the "approved this merge
//!   request" system note carries it. A review's body, when it has one, is a note of its own.
//! * GraphQL (`/api/graphql`): [`graphql`], over the same objects.

pub mod graphql;

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::github::link::{Query, query_with_page};
use crate::model::{Dataset, GhDeployment, GhPull, GhRepo, GhRun, GhUser, GithubData};
use crate::state::{Items, SimState};
use crate::upstream::gitlab_json;

pub const DEFAULT_PER_PAGE: usize = 20;
pub const MAX_PER_PAGE: usize = 100;
/// Above this many rows GitLab leaves out `x-total` and `x-total-pages`.
const TOTALS_UP_TO: usize = 10_000;
/// The subgroup the second of every three repositories sits in.
pub const SUBGROUP: &str = "platform";
const GROUP_ID: u64 = 7_000_001;
const SUBGROUP_ID: u64 = 7_000_002;
/// Offsets that keep derived note ids apart from the GitHub ids reused for notes.
const SYSTEM_NOTE_BASE: u64 = 8_000_000_000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/version", web::get().to(version))
        .route("/user", web::get().to(user))
        .route("/personal_access_tokens/self", web::get().to(token_self))
        .route("/groups/{group}", web::get().to(group))
        .route("/groups/{group}/projects", web::get().to(group_projects))
        .route("/projects/{project}", web::get().to(project))
        .route("/projects/{project}/merge_requests", web::get().to(merge_requests))
        .route("/projects/{project}/merge_requests/{iid}", web::get().to(merge_request))
        .route(
            "/projects/{project}/merge_requests/{iid}/commits",
            web::get().to(mr_commits),
        )
        .route(
            "/projects/{project}/merge_requests/{iid}/notes",
            web::get().to(mr_notes),
        )
        .route(
            "/projects/{project}/merge_requests/{iid}/approvals",
            web::get().to(mr_approvals),
        )
        .route("/projects/{project}/deployments", web::get().to(deployments))
        .route("/projects/{project}/environments", web::get().to(environments))
        .route("/projects/{project}/pipelines", web::get().to(pipelines));
}

// ---------------------------------------------------------------------------------------------
// Where things live

/// A group: the organisation, or its subgroup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub id: u64,
    pub name: String,
    pub full_path: String,
    pub parent_id: Option<u64>,
}

/// The groups of the dataset: the organisation and its subgroup.
pub fn groups(gh: &GithubData) -> [Group; 2] {
    [
        Group {
            id: GROUP_ID,
            name: gh.org.clone(),
            full_path: gh.org.clone(),
            parent_id: None,
        },
        Group {
            id: SUBGROUP_ID,
            name: SUBGROUP.into(),
            full_path: format!("{}/{SUBGROUP}", gh.org),
            parent_id: Some(GROUP_ID),
        },
    ]
}

/// The namespace (group full path) a repository's project is in.
pub fn namespace(gh: &GithubData, index: usize) -> String {
    if index % 3 == 1 {
        format!("{}/{SUBGROUP}", gh.org)
    } else {
        gh.org.clone()
    }
}

/// `group/name` or `group/platform/name`: what a GitLab integration lists as a project.
pub fn path_with_namespace(gh: &GithubData, index: usize) -> String {
    format!("{}/{}", namespace(gh, index), gh.repos[index].name)
}

/// A path parameter as GitLab takes it: a numeric id or a URL-encoded full path.
fn decoded(raw: &str) -> String {
    let replaced = raw.replace("%2F", "/").replace("%2f", "/");
    url::form_urlencoded::parse(format!("x={replaced}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or(replaced)
}

fn find_project(gh: &GithubData, raw: &str) -> Option<usize> {
    let wanted = decoded(raw);
    if let Ok(id) = wanted.parse::<u64>() {
        return gh.repos.iter().position(|r| r.id == id);
    }
    (0..gh.repos.len()).find(|&i| path_with_namespace(gh, i).eq_ignore_ascii_case(&wanted))
}

fn find_group(gh: &GithubData, raw: &str) -> Option<Group> {
    let wanted = decoded(raw);
    groups(gh)
        .into_iter()
        .find(|g| g.id.to_string() == wanted || g.full_path.eq_ignore_ascii_case(&wanted))
}

// ---------------------------------------------------------------------------------------------
// Rendering

struct Web {
    /// `scheme://host/gitlab`: the web root (`web_url`s).
    root: String,
    /// The request's URL up to the path, for `Link` headers.
    origin: String,
}

impl Web {
    fn from_request(req: &HttpRequest) -> Self {
        let info = req.connection_info();
        let origin = format!("{}://{}", info.scheme(), info.host());
        Self {
            root: format!("{origin}{}", crate::paths::GITLAB),
            origin,
        }
    }
}

pub fn time(t: DateTime<Utc>) -> String {
    // `%Y-%m-%dT%H:%M:%S%.3fZ` without parsing a format string per value (a tenth of the
    // simulator's time answering GraphQL pages went there).
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn username(u: &GhUser) -> String {
    u.login.trim_end_matches("[bot]").to_string()
}

fn user_json(w: &Web, u: &GhUser) -> Value {
    json!({
        "id": u.id,
        "username": username(u),
        "name": u.name,
        "state": "active",
        "locked": false,
        "avatar_url": format!("{}/uploads/-/system/user/avatar/{}/avatar.png", w.root, u.id),
        "web_url": format!("{}/{}", w.root, username(u)),
    })
}

fn user_at(w: &Web, gh: &GithubData, index: usize) -> Value {
    gh.users.get(index).map_or(Value::Null, |u| user_json(w, u))
}

fn group_json(w: &Web, g: &Group) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "path": g.full_path.rsplit('/').next().unwrap_or(&g.full_path),
        "full_name": g.full_path.replace('/', " / "),
        "full_path": g.full_path,
        "parent_id": g.parent_id,
        "visibility": "private",
        "web_url": format!("{}/groups/{}", w.root, g.full_path),
    })
}

fn project_json(w: &Web, gh: &GithubData, index: usize) -> Value {
    let r = &gh.repos[index];
    let ns = namespace(gh, index);
    let group = groups(gh).into_iter().find(|g| g.full_path == ns);
    let full = path_with_namespace(gh, index);
    json!({
        "id": r.id,
        "description": null,
        "name": r.name,
        "name_with_namespace": full.replace('/', " / "),
        "path": r.name,
        "path_with_namespace": full,
        "created_at": time(r.created_at),
        "default_branch": r.default_branch,
        "web_url": format!("{}/{full}", w.root),
        "http_url_to_repo": format!("{}/{full}.git", w.root),
        "archived": r.archived,
        "visibility": if r.private { "private" } else { "internal" },
        "last_activity_at": time(r.pushed_at.max(r.updated_at)),
        "empty_repo": false,
        "namespace": group.map(|g| json!({
            "id": g.id, "name": g.name, "path": g.full_path.rsplit('/').next().unwrap_or(&g.full_path),
            "kind": "group", "full_path": g.full_path, "parent_id": g.parent_id,
        })),
    })
}

/// `opened`, `closed` or `merged`.
pub fn mr_state(p: &GhPull) -> &'static str {
    if p.merged_at.is_some() {
        "merged"
    } else if p.state == "closed" {
        "closed"
    } else {
        "opened"
    }
}

fn mr_json(w: &Web, gh: &GithubData, index: usize, p: &GhPull) -> Value {
    let r = &gh.repos[index];
    let full = path_with_namespace(gh, index);
    let merged_by = p.merged_at.map(|_| user_at(w, gh, p.author));
    let notes = p.comments.len() + p.review_comments.len() + p.reviews.iter().filter(|v| !v.body.is_empty()).count();
    let mr = json!({
        "id": p.id,
        "iid": p.number,
        "project_id": r.id,
        "title": p.title,
        "description": p.body,
        "state": mr_state(p),
        "created_at": time(p.created_at),
        "updated_at": time(p.updated_at),
        "merged_by": merged_by.clone().unwrap_or(Value::Null),
        "merge_user": merged_by.unwrap_or(Value::Null),
        "merged_at": p.merged_at.map(time),
        "closed_by": if mr_state(p) == "closed" { user_at(w, gh, p.author) } else { Value::Null },
        "closed_at": if mr_state(p) == "closed" { p.closed_at.map(time) } else { None },
        "target_branch": p.base_ref,
        "source_branch": p.head_ref,
        "user_notes_count": notes,
        "upvotes": 0,
        "downvotes": 0,
        "author": user_at(w, gh, p.author),
        "assignees": [],
        "assignee": null,
        "reviewers": [],
    });
    let more = json!({
        "source_project_id": r.id,
        "target_project_id": r.id,
        "labels": [],
        "draft": p.draft,
        "work_in_progress": p.draft,
        "merge_when_pipeline_succeeds": false,
        "merge_status": "can_be_merged",
        "detailed_merge_status": if mr_state(p) == "opened" { "mergeable" } else { "not_open" },
        "sha": p.head_sha,
        "merge_commit_sha": p.merge_commit_sha,
        "squash_commit_sha": null,
        "discussion_locked": null,
        "should_remove_source_branch": null,
        "force_remove_source_branch": true,
        "reference": format!("!{}", p.number),
        "references": { "short": format!("!{}", p.number), "relative": format!("!{}", p.number),
                        "full": format!("{full}!{}", p.number) },
        "web_url": format!("{}/{full}/-/merge_requests/{}", w.root, p.number),
        "time_stats": { "time_estimate": 0, "total_time_spent": 0, "human_time_estimate": null,
                        "human_total_time_spent": null },
        "squash": false,
        "approvals_before_merge": null,
        "milestone": null,
        "task_completion_status": { "count": 0, "completed_count": 0 },
        "has_conflicts": false,
        "blocking_discussions_resolved": true,
    });
    merged(mr, more)
}

/// `a` with `b`'s fields added (the `json!` macro's recursion limit keeps big objects in parts).
fn merged(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

fn commit_json(w: &Web, full: &str, c: &crate::model::GhCommit) -> Value {
    json!({
        "id": c.sha,
        "short_id": &c.sha[..c.sha.len().min(8)],
        "created_at": time(c.committed_at),
        "parent_ids": [],
        "title": c.message.lines().next().unwrap_or(""),
        "message": c.message,
        "author_name": c.author_name,
        "author_email": c.author_email,
        "authored_date": time(c.authored_at),
        "committer_name": c.author_name,
        "committer_email": c.author_email,
        "committed_date": time(c.committed_at),
        "trailers": {},
        "web_url": format!("{}/{full}/-/commit/{}", w.root, c.sha),
    })
}

/// One note of a merge request, before it is rendered (GraphQL answers only the fields asked).
struct Note {
    id: u64,
    /// A line comment (`DiffNote`): the commit and the file it is on.
    diff: Option<(String, String)>,
    body: String,
    author: usize,
    at: DateTime<Utc>,
    updated: DateTime<Utc>,
    system: bool,
}

impl Note {
    fn new(id: u64, body: String, author: usize, at: DateTime<Utc>, updated: DateTime<Utc>, system: bool) -> Self {
        Self {
            id,
            diff: None,
            body,
            author,
            at,
            updated,
            system,
        }
    }

    fn kind(&self) -> Value {
        if self.diff.is_some() {
            json!("DiffNote")
        } else {
            Value::Null
        }
    }

    fn position(&self) -> Value {
        match &self.diff {
            Some((sha, path)) => json!({ "base_sha": null, "start_sha": null, "head_sha": sha,
                                         "old_path": path, "new_path": path, "position_type": "text" }),
            None => Value::Null,
        }
    }

    /// The note as the REST API renders it.
    fn json(&self, w: &Web, gh: &GithubData, index: usize, p: &GhPull) -> Value {
        let mut n = json!({
            "id": self.id, "type": self.kind(), "body": self.body, "attachment": null,
            "author": user_at(w, gh, self.author),
            "created_at": time(self.at), "updated_at": time(self.updated), "system": self.system,
            "noteable_id": p.id, "noteable_type": "MergeRequest", "project_id": gh.repos[index].id,
            "resolvable": self.diff.is_some(), "confidential": false, "internal": false,
            "noteable_iid": p.number, "commands_changes": {},
        });
        if self.diff.is_some() {
            n["position"] = self.position();
        }
        n
    }
}

/// Every note of a merge request, oldest first, as REST renders them.
fn notes(w: &Web, gh: &GithubData, index: usize, p: &GhPull) -> Vec<(DateTime<Utc>, u64, Value)> {
    note_list(p)
        .into_iter()
        .map(|(at, id, n)| (at, id, n.json(w, gh, index, p)))
        .collect()
}

/// Every note of a merge request, oldest first: comments, line comments (`DiffNote`), review
/// bodies, and GitLab's system notes (commits added, approvals, merged or closed).
fn note_list(p: &GhPull) -> Vec<(DateTime<Utc>, u64, Note)> {
    let mut out = Vec::new();
    for c in &p.comments {
        out.push((
            c.created_at,
            c.id,
            Note::new(c.id, c.body.clone(), c.author, c.created_at, c.updated_at, false),
        ));
    }
    for c in &p.review_comments {
        let mut n = Note::new(c.id, c.body.clone(), c.author, c.created_at, c.updated_at, false);
        n.diff = Some((c.commit_sha.clone(), c.path.clone()));
        out.push((c.created_at, c.id, n));
    }
    for v in &p.reviews {
        if !v.body.is_empty() {
            out.push((
                v.submitted_at,
                v.id,
                Note::new(v.id, v.body.clone(), v.author, v.submitted_at, v.submitted_at, false),
            ));
        }
        if v.state == "APPROVED" {
            let id = SYSTEM_NOTE_BASE + v.id;
            out.push((
                v.submitted_at,
                id,
                Note::new(
                    id,
                    "approved this merge request".into(),
                    v.author,
                    v.submitted_at,
                    v.submitted_at,
                    true,
                ),
            ));
        }
    }
    // One "added N commits" note per push (commits pushed within a minute of each other).
    let mut pushes: Vec<Vec<&crate::model::GhCommit>> = Vec::new();
    for c in &p.commits {
        match pushes.last_mut() {
            Some(push)
                if push
                    .last()
                    .is_some_and(|l| (c.committed_at - l.committed_at).num_seconds().abs() < 60) =>
            {
                push.push(c)
            }
            _ => pushes.push(vec![c]),
        }
    }
    for (k, push) in pushes.iter().enumerate() {
        let at = push.last().map_or(p.created_at, |c| c.committed_at).max(p.created_at);
        let list: String = push
            .iter()
            .map(|c| {
                format!(
                    "<li>{} - {}</li>",
                    &c.sha[..c.sha.len().min(8)],
                    c.message.lines().next().unwrap_or("")
                )
            })
            .collect();
        let body = format!(
            "added {} commit{}\n\n<ul>{list}</ul>",
            push.len(),
            if push.len() == 1 { "" } else { "s" }
        );
        let id = SYSTEM_NOTE_BASE * 2 + p.id * 1000 + k as u64;
        out.push((at, id, Note::new(id, body, p.author, at, at, true)));
    }
    if let Some(at) = p.merged_at {
        let id = SYSTEM_NOTE_BASE * 3 + p.id;
        out.push((at, id, Note::new(id, "merged".into(), p.author, at, at, true)));
    } else if let (Some(at), "closed") = (p.closed_at, mr_state(p)) {
        let id = SYSTEM_NOTE_BASE * 3 + p.id;
        out.push((at, id, Note::new(id, "closed".into(), p.author, at, at, true)));
    }
    out.sort_by_key(|(at, id, _)| (*at, *id));
    out
}

/// GitLab's deployment status from GitHub's latest deployment status.
pub fn deployment_status(d: &GhDeployment) -> &'static str {
    match d.statuses.last().map(|s| s.state.as_str()) {
        Some("success" | "inactive") => "success",
        Some("failure" | "error") => "failed",
        Some("in_progress") => "running",
        Some("queued" | "pending") | None => "created",
        Some(_) => "canceled",
    }
}

fn environment_id(repo: &GhRepo, name: &str) -> u64 {
    let mut names: Vec<&str> = repo.deployments.iter().map(|d| d.environment.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    repo.id * 100 + names.iter().position(|n| *n == name).unwrap_or(0) as u64 + 1
}

fn environment_json(w: &Web, full: &str, repo: &GhRepo, name: &str) -> Value {
    let first = repo
        .deployments
        .iter()
        .filter(|d| d.environment == name)
        .map(|d| d.created_at)
        .min();
    json!({
        "id": environment_id(repo, name),
        "name": name,
        "slug": name.to_ascii_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
        "external_url": null,
        "state": "available",
        "tier": match name { "production" => "production", "staging" => "staging", _ => "other" },
        "created_at": first.map(time),
        "updated_at": first.map(time),
        "web_url": format!("{}/{full}/-/environments/{}", w.root, environment_id(repo, name)),
    })
}

fn deployment_json(w: &Web, gh: &GithubData, index: usize, iid: usize, d: &GhDeployment) -> Value {
    let repo = &gh.repos[index];
    let full = path_with_namespace(gh, index);
    let finished = d
        .statuses
        .iter()
        .rev()
        .find(|s| matches!(s.state.as_str(), "success" | "failure" | "error" | "inactive"))
        .map(|s| s.created_at);
    let status = deployment_status(d);
    json!({
        "id": d.id,
        "iid": iid,
        "ref": d.r#ref,
        "sha": d.sha,
        "created_at": time(d.created_at),
        "updated_at": time(d.updated_at),
        "finished_at": finished.map(time),
        "status": status,
        "user": user_at(w, gh, d.creator),
        "environment": environment_json(w, &full, repo, &d.environment),
        "deployable": {
            "id": d.id + 1_000_000_000,
            "status": status,
            "stage": "deploy",
            "name": d.task,
            "ref": d.r#ref,
            "tag": false,
            "created_at": time(d.created_at),
            "finished_at": finished.map(time),
            "user": user_at(w, gh, d.creator),
        },
    })
}

/// GitLab's pipeline status from a workflow run.
pub fn pipeline_status(r: &GhRun) -> &'static str {
    match (r.status.as_str(), r.conclusion.as_deref()) {
        ("completed", Some("success")) => "success",
        ("completed", Some("cancelled")) => "canceled",
        ("completed", Some("skipped")) => "skipped",
        ("completed", _) => "failed",
        ("in_progress", _) => "running",
        _ => "pending",
    }
}

fn pipeline_json(w: &Web, gh: &GithubData, index: usize, r: &GhRun) -> Value {
    let repo = &gh.repos[index];
    let full = path_with_namespace(gh, index);
    json!({
        "id": r.id,
        "iid": r.run_number,
        "project_id": repo.id,
        "sha": r.head_sha,
        "ref": r.head_branch,
        "status": pipeline_status(r),
        "source": match r.event.as_str() { "pull_request" => "merge_request_event", "schedule" => "schedule",
                                           "workflow_dispatch" => "web", _ => "push" },
        "name": r.name,
        "created_at": time(r.created_at),
        "updated_at": time(r.updated_at),
        "web_url": format!("{}/{full}/-/pipelines/{}", w.root, r.id),
    })
}

// ---------------------------------------------------------------------------------------------
// Paging

/// One page of `rows` (already filtered and ordered) with GitLab's offset headers; only the
/// page's rows are rendered.
fn offset_page<T>(req: &HttpRequest, w: &Web, rows: Vec<T>, render: impl Fn(&T) -> Value) -> HttpResponse {
    let q = Query::from_request(req);
    let per_page = match q.get("per_page").map(|v| v.trim().parse::<i64>()) {
        Some(Ok(n)) if n >= 1 => (n as usize).min(MAX_PER_PAGE),
        _ => DEFAULT_PER_PAGE,
    };
    let page = match q.get("page").map(|v| v.trim().parse::<i64>()) {
        Some(Ok(n)) if n >= 1 => n as usize,
        _ => 1,
    };
    let total = rows.len();
    let pages = total.div_ceil(per_page).max(1);
    let start = (page - 1).saturating_mul(per_page).min(total);
    let end = start.saturating_add(per_page).min(total);
    let body: Vec<Value> = rows[start..end].iter().map(render).collect();
    let url = |p: usize| format!("{}{}?{}", w.origin, req.path(), query_with_page(req.query_string(), p));
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("<{}>; rel=\"prev\"", url((page - 1).min(pages))));
    }
    if page < pages {
        links.push(format!("<{}>; rel=\"next\"", url(page + 1)));
    }
    links.push(format!("<{}>; rel=\"first\"", url(1)));
    if total <= TOTALS_UP_TO {
        links.push(format!("<{}>; rel=\"last\"", url(pages)));
    }
    let mut headers = vec![
        ("x-page", page.to_string()),
        ("x-per-page", per_page.to_string()),
        (
            "x-next-page",
            if page < pages {
                (page + 1).to_string()
            } else {
                String::new()
            },
        ),
        (
            "x-prev-page",
            if page > 1 {
                (page - 1).to_string()
            } else {
                String::new()
            },
        ),
        ("link", links.join(", ")),
    ];
    if total <= TOTALS_UP_TO {
        headers.push(("x-total", total.to_string()));
        headers.push(("x-total-pages", pages.to_string()));
    }
    list_response(body, headers)
}

/// Keyset paging by id ascending (`pagination=keyset&order_by=id&sort=asc`): `id_after` in the
/// `Link` header's next URL, no totals.
fn keyset_page(req: &HttpRequest, w: &Web, mut rows: Vec<Value>) -> HttpResponse {
    let q = Query::from_request(req);
    let per_page = match q.get("per_page").map(|v| v.trim().parse::<i64>()) {
        Some(Ok(n)) if n >= 1 => (n as usize).min(MAX_PER_PAGE),
        _ => DEFAULT_PER_PAGE,
    };
    let after = q.value("id_after").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    rows.sort_by_key(|r| r["id"].as_u64().unwrap_or(0));
    let rest: Vec<Value> = rows
        .into_iter()
        .filter(|r| r["id"].as_u64().unwrap_or(0) > after)
        .collect();
    let more = rest.len() > per_page;
    let body: Vec<Value> = rest.into_iter().take(per_page).collect();
    let mut headers = vec![("x-per-page", per_page.to_string())];
    if more {
        let last = body.last().and_then(|r| r["id"].as_u64()).unwrap_or(after);
        let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .filter(|(k, _)| k != "id_after" && k != "page")
            .collect();
        pairs.push(("id_after".into(), last.to_string()));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        headers.push(("link", format!("<{}{}?{query}>; rel=\"next\"", w.origin, req.path())));
    }
    list_response(body, headers)
}

fn list_response(body: Vec<Value>, headers: Vec<(&str, String)>) -> HttpResponse {
    let n = body.len() as u64;
    let mut res = HttpResponse::Ok().json(body);
    for (name, value) in headers {
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            res.headers_mut().insert(k, v);
        }
    }
    res.extensions_mut().insert(Items(n));
    res
}

// ---------------------------------------------------------------------------------------------
// Query parameters

/// A refusal, boxed (an `HttpResponse` is too big to travel in every `Result`).
type Refusal = Box<HttpResponse>;

fn bad_request(message: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "error": message }))
}

fn not_found(what: &str) -> HttpResponse {
    gitlab_json(StatusCode::NOT_FOUND, &format!("404 {what} Not Found"))
}

/// An ISO 8601 time parameter; `Err` names the parameter GitLab would call invalid.
fn time_param(q: &Query, key: &str) -> Result<Option<DateTime<Utc>>, Refusal> {
    match q.value(key) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.with_timezone(&Utc)))
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map(|d| Some(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()))
            })
            .map_err(|_| Box::new(bad_request(&format!("{key} is invalid")))),
    }
}

/// A Boolean parameter as GitLab's API framework reads it (`true`/`false`, `1`/`0`, `yes`/`no`,
/// `t`/`f`, `on`/`off`, any case: Python clients send `True`).
fn bool_param(q: &Query, key: &str) -> Result<Option<bool>, Refusal> {
    match q.value(key).map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("true" | "1" | "yes" | "t" | "y" | "on") => Ok(Some(true)),
        Some("false" | "0" | "no" | "f" | "n" | "off") => Ok(Some(false)),
        Some(_) => Err(Box::new(bad_request(&format!("{key} is invalid")))),
    }
}

/// `sort` (`asc`/`desc`, default `desc`) applied to rows ordered ascending by `key`.
fn ordered<T, K: Ord>(
    q: &Query,
    default_desc: bool,
    mut rows: Vec<T>,
    key: impl Fn(&T) -> K,
) -> Result<Vec<T>, Refusal> {
    let desc = match q.value("sort") {
        None => default_desc,
        Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(Box::new(bad_request("sort does not have a valid value"))),
    };
    rows.sort_by_key(|r| key(r));
    if desc {
        rows.reverse();
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn version() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "version": "17.6.1-ee", "revision": "4e2a0f9c1d7", "kas": {
        "enabled": true, "externalUrl": null, "version": "17.6.1" }, "enterprise": true }))
}

async fn user(req: HttpRequest, state: web::Data<SimState>) -> HttpResponse {
    let data = state.data();
    let w = Web::from_request(&req);
    let u = crate::github::rest::token_user(&data.github);
    let mut body = user_json(&w, &u);
    body["email"] = json!(u.email);
    body["bot"] = json!(false);
    body["is_admin"] = json!(false);
    HttpResponse::Ok().json(body)
}

async fn token_self(state: web::Data<SimState>) -> HttpResponse {
    let data = state.data();
    let u = crate::github::rest::token_user(&data.github);
    HttpResponse::Ok().json(json!({
        "id": 4_242, "name": "pulse-etl", "revoked": false, "created_at": time(data.now - chrono::Duration::days(30)),
        "scopes": ["read_api"], "user_id": u.id, "last_used_at": time(data.now), "active": true,
        "expires_at": (data.now + chrono::Duration::days(335)).format("%Y-%m-%d").to_string(),
    }))
}

async fn group(req: HttpRequest, state: web::Data<SimState>, path: web::Path<String>) -> HttpResponse {
    let data = state.data();
    match find_group(&data.github, &path) {
        Some(g) => HttpResponse::Ok().json(group_json(&Web::from_request(&req), &g)),
        None => not_found("Group"),
    }
}

async fn group_projects(req: HttpRequest, state: web::Data<SimState>, path: web::Path<String>) -> HttpResponse {
    let data = state.data();
    let gh = &data.github;
    let Some(g) = find_group(gh, &path) else {
        return not_found("Group");
    };
    let q = Query::from_request(&req);
    let (subgroups, archived) = match (bool_param(&q, "include_subgroups"), bool_param(&q, "archived")) {
        (Ok(s), Ok(a)) => (s.unwrap_or(false), a),
        (Err(res), _) | (_, Err(res)) => return *res,
    };
    let w = Web::from_request(&req);
    let rows: Vec<(usize, u64)> = (0..gh.repos.len())
        .filter(|&i| {
            let ns = namespace(gh, i);
            ns == g.full_path || (subgroups && ns.starts_with(&format!("{}/", g.full_path)))
        })
        .filter(|&i| archived.is_none_or(|a| gh.repos[i].archived == a))
        .map(|i| (i, gh.repos[i].id))
        .collect();
    if q.value("pagination") == Some("keyset") {
        if q.value("order_by").unwrap_or("id") != "id" {
            return bad_request("Keyset pagination is not yet available for this type of request");
        }
        let body = rows.iter().map(|(i, _)| project_json(&w, gh, *i)).collect();
        return keyset_page(&req, &w, body);
    }
    // Default order: created_at descending, as GitLab's.
    let rows = match q.value("order_by").unwrap_or("created_at") {
        "id" => ordered(&q, true, rows, |(_, id)| *id),
        "name" | "path" => ordered(&q, true, rows, |(i, _)| gh.repos[*i].name.clone()),
        "created_at" => ordered(&q, true, rows, |(i, id)| (gh.repos[*i].created_at, *id)),
        "last_activity_at" | "updated_at" => ordered(&q, true, rows, |(i, id)| (gh.repos[*i].updated_at, *id)),
        _ => return bad_request("order_by does not have a valid value"),
    };
    match rows {
        Ok(rows) => offset_page(&req, &w, rows, |(i, _)| project_json(&w, gh, *i)),
        Err(res) => *res,
    }
}

async fn project(req: HttpRequest, state: web::Data<SimState>, path: web::Path<String>) -> HttpResponse {
    let data = state.data();
    match find_project(&data.github, &path) {
        Some(i) => HttpResponse::Ok().json(project_json(&Web::from_request(&req), &data.github, i)),
        None => not_found("Project"),
    }
}

async fn merge_requests(req: HttpRequest, state: web::Data<SimState>, path: web::Path<String>) -> HttpResponse {
    let data = state.data();
    let gh = &data.github;
    let Some(index) = find_project(gh, &path) else {
        return not_found("Project");
    };
    let q = Query::from_request(&req);
    let wanted_state = q.value("state").unwrap_or("all");
    if !["all", "opened", "closed", "merged", "locked"].contains(&wanted_state) {
        return bad_request("state does not have a valid value");
    }
    let bounds = (|| {
        Ok::<_, Refusal>((
            time_param(&q, "updated_after")?,
            time_param(&q, "updated_before")?,
            time_param(&q, "created_after")?,
            time_param(&q, "created_before")?,
        ))
    })();
    let (updated_after, updated_before, created_after, created_before) = match bounds {
        Ok(b) => b,
        Err(res) => return *res,
    };
    let pulls: Vec<&GhPull> = gh.repos[index]
        .pulls
        .iter()
        .filter(|p| wanted_state == "all" || mr_state(p) == wanted_state)
        .filter(|p| updated_after.is_none_or(|t| p.updated_at >= t))
        .filter(|p| updated_before.is_none_or(|t| p.updated_at <= t))
        .filter(|p| created_after.is_none_or(|t| p.created_at >= t))
        .filter(|p| created_before.is_none_or(|t| p.created_at <= t))
        .filter(|p| q.value("source_branch").is_none_or(|b| p.head_ref == b))
        .filter(|p| q.value("target_branch").is_none_or(|b| p.base_ref == b))
        .collect();
    let pulls = match q.value("order_by").unwrap_or("created_at") {
        "created_at" => ordered(&q, true, pulls, |p| (p.created_at, p.id)),
        "updated_at" => ordered(&q, true, pulls, |p| (p.updated_at, p.id)),
        "merged_at" => ordered(&q, true, pulls, |p| (p.merged_at, p.id)),
        "title" => ordered(&q, true, pulls, |p| (p.title.clone(), p.id)),
        _ => return bad_request("order_by does not have a valid value"),
    };
    let w = Web::from_request(&req);
    match pulls {
        Ok(pulls) => offset_page(&req, &w, pulls, |p| mr_json(&w, gh, index, p)),
        Err(res) => *res,
    }
}

/// The project and merge request a path names.
fn find_mr<'a>(data: &'a Dataset, project: &str, iid: &str) -> Result<(usize, &'a GhPull), Refusal> {
    let index = find_project(&data.github, project).ok_or_else(|| Box::new(not_found("Project")))?;
    let iid: u64 = iid.parse().map_err(|_| Box::new(not_found("Merge Request")))?;
    let pull = data.github.repos[index]
        .pull(iid)
        .ok_or_else(|| Box::new(not_found("Merge Request")))?;
    Ok((index, pull))
}

async fn merge_request(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let data = state.data();
    match find_mr(&data, &path.0, &path.1) {
        Ok((index, p)) => HttpResponse::Ok().json(mr_json(&Web::from_request(&req), &data.github, index, p)),
        Err(res) => *res,
    }
}

/// Newest first, as GitLab lists a merge request's commits.
async fn mr_commits(req: HttpRequest, state: web::Data<SimState>, path: web::Path<(String, String)>) -> HttpResponse {
    let data = state.data();
    let (index, p) = match find_mr(&data, &path.0, &path.1) {
        Ok(found) => found,
        Err(res) => return *res,
    };
    let w = Web::from_request(&req);
    let full = path_with_namespace(&data.github, index);
    let rows: Vec<&crate::model::GhCommit> = p.commits.iter().rev().collect();
    offset_page(&req, &w, rows, |c| commit_json(&w, &full, c))
}

async fn mr_notes(req: HttpRequest, state: web::Data<SimState>, path: web::Path<(String, String)>) -> HttpResponse {
    let data = state.data();
    let (index, p) = match find_mr(&data, &path.0, &path.1) {
        Ok(found) => found,
        Err(res) => return *res,
    };
    let q = Query::from_request(&req);
    let w = Web::from_request(&req);
    let all = notes(&w, &data.github, index, p);
    let rows = match q.value("order_by").unwrap_or("created_at") {
        "created_at" => ordered(&q, true, all, |(at, id, _)| (*at, *id)),
        "updated_at" => ordered(&q, true, all, |(_, id, n)| {
            (n["updated_at"].as_str().unwrap_or("").to_string(), *id)
        }),
        _ => return bad_request("order_by does not have a valid value"),
    };
    match rows {
        Ok(rows) => offset_page(&req, &w, rows, |(_, _, n)| n.clone()),
        Err(res) => *res,
    }
}

async fn mr_approvals(req: HttpRequest, state: web::Data<SimState>, path: web::Path<(String, String)>) -> HttpResponse {
    let data = state.data();
    let (index, p) = match find_mr(&data, &path.0, &path.1) {
        Ok(found) => found,
        Err(res) => return *res,
    };
    let w = Web::from_request(&req);
    let mut approvers: BTreeMap<usize, ()> = BTreeMap::new();
    for v in p.reviews.iter().filter(|v| v.state == "APPROVED") {
        approvers.insert(v.author, ());
    }
    let approved_by: Vec<Value> = approvers
        .keys()
        .map(|a| json!({ "user": user_at(&w, &data.github, *a) }))
        .collect();
    HttpResponse::Ok().json(json!({
        "id": p.id, "iid": p.number, "project_id": data.github.repos[index].id,
        "title": p.title, "description": p.body, "state": mr_state(p),
        "created_at": time(p.created_at), "updated_at": time(p.updated_at),
        "merge_status": "can_be_merged", "approved": !approved_by.is_empty(),
        "approvals_required": 0, "approvals_left": 0, "require_password_to_approve": false,
        "approved_by": approved_by, "suggested_approvers": [], "approvers": [], "approver_groups": [],
        "user_has_approved": false, "user_can_approve": false, "approval_rules_left": [],
        "has_approval_rules": false, "merge_request_approvers_available": true,
        "multiple_approval_rules_available": true,
    }))
}

async fn deployments(req: HttpRequest, state: web::Data<SimState>, path: web::Path<String>) -> HttpResponse {
    let data = state.data();
    let gh = &data.github;
    let Some(index) = find_project(gh, &path) else {
        return not_found("Project");
    };
    let q = Query::from_request(&req);
    let (after, before) = match (time_param(&q, "updated_after"), time_param(&q, "updated_before")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(res), _) | (_, Err(res)) => return *res,
    };
    if let Some(s) = q.value("status")
        && !["created", "running", "success", "failed", "canceled", "blocked"].contains(&s)
    {
        return bad_request("status does not have a valid value");
    }
    let repo = &gh.repos[index];
    let rows: Vec<(usize, &GhDeployment)> = repo
        .deployments
        .iter()
        .enumerate()
        .map(|(k, d)| (k + 1, d))
        .filter(|(_, d)| q.value("environment").is_none_or(|e| d.environment == e))
        .filter(|(_, d)| q.value("status").is_none_or(|s| deployment_status(d) == s))
        .filter(|(_, d)| after.is_none_or(|t| d.updated_at >= t))
        .filter(|(_, d)| before.is_none_or(|t| d.updated_at <= t))
        .collect();
    // Default: id ascending.
    let rows = match q.value("order_by").unwrap_or("id") {
        "id" | "iid" => ordered(&q, false, rows, |(_, d)| d.id),
        "created_at" => ordered(&q, false, rows, |(_, d)| (d.created_at, d.id)),
        "updated_at" => ordered(&q, false, rows, |(_, d)| (d.updated_at, d.id)),
        "ref" => ordered(&q, false, rows, |(_, d)| (d.r#ref.clone(), d.id)),
        _ => return bad_request("order_by does not have a valid value"),
    };
    let w = Web::from_request(&req);
    match rows {
        Ok(rows) => offset_page(&req, &w, rows, |(iid, d)| deployment_json(&w, gh, index, *iid, d)),
        Err(res) => *res,
    }
}

async fn environments(req: HttpRequest, state: web::Data<SimState>, path: web::Path<String>) -> HttpResponse {
    let data = state.data();
    let gh = &data.github;
    let Some(index) = find_project(gh, &path) else {
        return not_found("Project");
    };
    let repo = &gh.repos[index];
    let full = path_with_namespace(gh, index);
    let mut names: Vec<&str> = repo.deployments.iter().map(|d| d.environment.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let w = Web::from_request(&req);
    offset_page(&req, &w, names, |n| environment_json(&w, &full, repo, n))
}

async fn pipelines(req: HttpRequest, state: web::Data<SimState>, path: web::Path<String>) -> HttpResponse {
    let data = state.data();
    let gh = &data.github;
    let Some(index) = find_project(gh, &path) else {
        return not_found("Project");
    };
    let q = Query::from_request(&req);
    let (after, before) = match (time_param(&q, "updated_after"), time_param(&q, "updated_before")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(res), _) | (_, Err(res)) => return *res,
    };
    let runs: Vec<&GhRun> = gh.repos[index]
        .workflow_runs
        .iter()
        .filter(|r| q.value("ref").is_none_or(|b| r.head_branch == b))
        .filter(|r| q.value("status").is_none_or(|s| pipeline_status(r) == s))
        .filter(|r| after.is_none_or(|t| r.updated_at >= t))
        .filter(|r| before.is_none_or(|t| r.updated_at <= t))
        .collect();
    // Default: id descending.
    let runs = match q.value("order_by").unwrap_or("id") {
        "id" => ordered(&q, true, runs, |r| r.id),
        "updated_at" => ordered(&q, true, runs, |r| (r.updated_at, r.id)),
        "ref" => ordered(&q, true, runs, |r| (r.head_branch.clone(), r.id)),
        "status" => ordered(&q, true, runs, |r| (pipeline_status(r), r.id)),
        _ => return bad_request("order_by does not have a valid value"),
    };
    let w = Web::from_request(&req);
    match runs {
        Ok(runs) => offset_page(&req, &w, runs, |r| pipeline_json(&w, gh, index, r)),
        Err(res) => *res,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_gitlab_writes_them() {
        for ms in [0i64, 1_764_000_000_123, 1_764_000_000_000, 253_402_300_799_999] {
            let t = DateTime::from_timestamp_millis(ms).unwrap();
            assert_eq!(time(t), t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        }
        assert_eq!(
            time(DateTime::from_timestamp_millis(1_764_000_000_120).unwrap()),
            "2025-11-24T16:00:00.120Z"
        );
    }
}
