//! What REST and GraphQL share: base URLs of the flavour a request came in on, ids that the
//! dataset does not carry (derived deterministically), date formatting, and the REST JSON
//! objects (user, repository, pull request, review, …), built from the borrowed dataset.

use std::collections::HashMap;

use actix_web::HttpRequest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::model::{
    GhComment, GhCommit, GhDeployment, GhDeploymentStatus, GhPull, GhRelease, GhRepo, GhReview, GhReviewComment, GhRun,
    GhUser, GithubData,
};
use crate::paths;
use crate::state::Upstream;

/// Base URLs as a client of this flavour sees them.
#[derive(Clone, Debug)]
pub struct Urls {
    /// `scheme://host`.
    pub origin: String,
    /// REST API root: `…/github` (github.com) or `…/ghe/api/v3` (Enterprise).
    pub api: String,
    /// Web root (`html_url`, GraphQL `url`): `…/github` or `…/ghe`.
    pub html: String,
    pub enterprise: bool,
}

impl Urls {
    pub fn from_request(req: &HttpRequest) -> Self {
        let info = req.connection_info();
        let origin = format!("{}://{}", info.scheme(), info.host());
        let enterprise = Upstream::from_path(req.path()) == Some(Upstream::GithubEnterprise);
        Self::new(&origin, enterprise)
    }

    pub fn new(origin: &str, enterprise: bool) -> Self {
        let (api, html) = if enterprise {
            (paths::GITHUB_ENTERPRISE_REST, paths::GITHUB_ENTERPRISE_ROOT)
        } else {
            (paths::GITHUB, paths::GITHUB)
        };
        Self {
            origin: origin.to_string(),
            api: format!("{origin}{api}"),
            html: format!("{origin}{html}"),
            enterprise,
        }
    }

    pub fn repo_api(&self, repo: &GhRepo) -> String {
        format!("{}/repos/{}/{}", self.api, repo.owner, repo.name)
    }

    pub fn repo_html(&self, repo: &GhRepo) -> String {
        format!("{}/{}/{}", self.html, repo.owner, repo.name)
    }

    pub fn avatar(&self, id: u64) -> String {
        format!("{}/avatars/u/{id}?v=4", self.origin)
    }

    /// `html_url` of an account (`/apps/NAME` for bots, as on GitHub).
    pub fn account_html(&self, login: &str, kind: &str) -> String {
        if kind == "Bot" {
            format!("{}/apps/{}", self.html, bot_slug(login))
        } else {
            format!("{}/{login}", self.html)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Derived values shared by REST and GraphQL

/// GraphQL `PullRequestState`: MERGED / CLOSED / OPEN.
pub fn pr_state(pr: &GhPull) -> &'static str {
    if pr.merged_at.is_some() {
        "MERGED"
    } else if pr.state == "closed" || pr.closed_at.is_some() {
        "CLOSED"
    } else {
        "OPEN"
    }
}

/// REST `state` of a pull request (`open` | `closed`).
pub fn pr_rest_state(pr: &GhPull) -> &'static str {
    if pr_state(pr) == "OPEN" { "open" } else { "closed" }
}

/// A bot's GraphQL login has no `[bot]` suffix (`dependabot`), its REST login has one.
pub fn bot_slug(login: &str) -> &str {
    login.strip_suffix("[bot]").unwrap_or(login)
}

pub fn is_bot(u: &GhUser) -> bool {
    u.kind.eq_ignore_ascii_case("bot")
}

/// `author_association` as GitHub computes it for an organisation repository.
pub fn author_association(u: Option<&GhUser>) -> &'static str {
    match u {
        Some(u) if !is_bot(u) => "MEMBER",
        _ => "NONE",
    }
}

/// Organisation account id (the dataset names the org but does not number it).
pub fn org_id(login: &str) -> u64 {
    let h = Sha256::digest(login.to_ascii_lowercase().as_bytes());
    1_000_000 + u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]) % 9_000_000)
}

pub fn org_node_id(login: &str) -> String {
    BASE64.encode(format!("012:Organization{}", org_id(login)))
}

/// Legacy-format global id of a commit (`06:Commit{repo}:{sha}`), same in REST and GraphQL.
pub fn commit_node_id(repo: &GhRepo, sha: &str) -> String {
    BASE64.encode(format!("06:Commit{}:{sha}", repo.id))
}

pub fn pr_commit_node_id(pr: &GhPull, sha: &str) -> String {
    BASE64.encode(format!("017:PullRequestCommit{}:{sha}", pr.id))
}

/// A stable 40-hex "sha" for things the dataset has no object for (trees, base tips).
pub fn synth_sha(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex(&h.finalize()[..20])
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// A workflow's file name from its display name (`Deploy production` → `deploy-production.yml`).
pub fn workflow_path(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!(".github/workflows/{}.yml", slug.trim_matches('-'))
}

/// Percent-encodes the few characters of a login that are not URL-safe (`[bot]`).
pub fn login_path(login: &str) -> String {
    login.replace('[', "%5B").replace(']', "%5D")
}

// ---------------------------------------------------------------------------------------------
// Dates: `2026-11-28T12:00:00Z`, as GitHub writes them (REST and GraphQL alike).

pub fn iso(dt: &DateTime<Utc>) -> String {
    let mut v = Vec::with_capacity(20);
    push_iso(&mut v, dt);
    String::from_utf8(v).unwrap_or_default()
}

pub fn iso_opt(dt: &Option<DateTime<Utc>>) -> Value {
    match dt {
        Some(d) => Value::String(iso(d)),
        None => Value::Null,
    }
}

/// Appends the date without going through `format!` (hot in GraphQL rendering).
pub fn push_iso(buf: &mut Vec<u8>, dt: &DateTime<Utc>) {
    let n = dt.naive_utc();
    let year = n.year().clamp(0, 9999) as u32;
    fn two(v: u32, buf: &mut Vec<u8>) {
        buf.push(b'0' + (v / 10 % 10) as u8);
        buf.push(b'0' + (v % 10) as u8);
    }
    two(year / 100, buf);
    two(year % 100, buf);
    buf.push(b'-');
    two(n.month(), buf);
    buf.push(b'-');
    two(n.day(), buf);
    buf.push(b'T');
    two(n.hour(), buf);
    buf.push(b':');
    two(n.minute(), buf);
    buf.push(b':');
    two(n.second().min(59), buf);
    buf.push(b'Z');
}

/// Parses the timestamps clients send (`since`, `created`): RFC 3339 or a bare date.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return Some(d.and_utc());
    }
    if let Ok(d) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M") {
        return Some(d.and_utc());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

// ---------------------------------------------------------------------------------------------
// REST objects

/// Renders REST JSON from the borrowed dataset for one request's flavour and host.
pub struct Rest<'a> {
    pub urls: &'a Urls,
    pub gh: &'a GithubData,
    /// The simulated present (`Dataset::now`).
    pub now: DateTime<Utc>,
}

/// The account GitHub shows for users that no longer exist.
fn ghost() -> GhUser {
    GhUser {
        id: 10137,
        node_id: "MDQ6VXNlcjEwMTM3".into(),
        login: "ghost".into(),
        name: "Deleted user".into(),
        email: String::new(),
        kind: "User".into(),
    }
}

impl<'a> Rest<'a> {
    pub fn new(urls: &'a Urls, gh: &'a GithubData, now: DateTime<Utc>) -> Self {
        Self { urls, gh, now }
    }

    pub fn user_at(&self, idx: usize) -> Value {
        match self.gh.users.get(idx) {
            Some(u) => self.user(u),
            None => self.user(&ghost()),
        }
    }

    pub fn user_opt(&self, idx: Option<usize>) -> Value {
        match idx.and_then(|i| self.gh.users.get(i)) {
            Some(u) => self.user(u),
            None => Value::Null,
        }
    }

    /// The "simple user" object.
    pub fn user(&self, u: &GhUser) -> Value {
        let kind = if is_bot(u) { "Bot" } else { "User" };
        self.account(&u.login, u.id, &u.node_id, kind)
    }

    pub fn account(&self, login: &str, id: u64, node_id: &str, kind: &str) -> Value {
        let base = format!("{}/users/{}", self.urls.api, login_path(login));
        json!({
            "login": login,
            "id": id,
            "node_id": node_id,
            "avatar_url": self.urls.avatar(id),
            "gravatar_id": "",
            "url": base,
            "html_url": self.urls.account_html(login, kind),
            "followers_url": format!("{base}/followers"),
            "following_url": format!("{base}/following{{/other_user}}"),
            "gists_url": format!("{base}/gists{{/gist_id}}"),
            "starred_url": format!("{base}/starred{{/owner}}{{/repo}}"),
            "subscriptions_url": format!("{base}/subscriptions"),
            "organizations_url": format!("{base}/orgs"),
            "repos_url": format!("{base}/repos"),
            "events_url": format!("{base}/events{{/privacy}}"),
            "received_events_url": format!("{base}/received_events"),
            "type": kind,
            "user_view_type": "public",
            "site_admin": false,
        })
    }

    /// The owner of a repository: the organisation, or a user of that login.
    pub fn owner(&self, repo: &GhRepo) -> Value {
        if !repo.owner.eq_ignore_ascii_case(&self.gh.org)
            && let Some(u) = self.gh.users.iter().find(|u| u.login.eq_ignore_ascii_case(&repo.owner))
        {
            return self.user(u);
        }
        self.account(
            &repo.owner,
            org_id(&repo.owner),
            &org_node_id(&repo.owner),
            "Organization",
        )
    }

    /// The `public-user` object (`GET /users/{login}`).
    pub fn public_user(&self, u: &GhUser) -> Value {
        let mut v = self.user(u);
        if let Value::Object(m) = &mut v {
            let created = self
                .gh
                .repos
                .iter()
                .map(|r| r.created_at)
                .min()
                .unwrap_or_else(Utc::now);
            let extra = json!({
                "name": u.name,
                "company": self.gh.org,
                "blog": "",
                "location": null,
                "email": u.email,
                "hireable": null,
                "bio": null,
                "twitter_username": null,
                "public_repos": 0,
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "created_at": iso(&created),
                "updated_at": iso(&created),
            });
            if let Value::Object(e) = extra {
                m.extend(e);
            }
        }
        v
    }

    /// The `/user` body: the authenticated user's public profile with the private fields.
    pub fn auth_user(&self, u: &GhUser) -> Value {
        let mut v = self.public_user(u);
        if let Value::Object(m) = &mut v {
            let extra = json!({
                "notification_email": u.email,
                "private_gists": 0,
                "total_private_repos": 0,
                "owned_private_repos": 0,
                "disk_usage": 0,
                "collaborators": 0,
                "two_factor_authentication": true,
                "plan": {"name": "enterprise", "space": 976562499, "collaborators": 0, "private_repos": 9999},
            });
            if let Value::Object(e) = extra {
                m.extend(e);
            }
        }
        v
    }

    /// The "minimal repository" object (workflow runs).
    pub fn repo_minimal(&self, repo: &GhRepo) -> Map<String, Value> {
        let api = self.urls.repo_api(repo);
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("id", json!(repo.id));
        put("node_id", json!(repo.node_id));
        put("name", json!(repo.name));
        put("full_name", json!(format!("{}/{}", repo.owner, repo.name)));
        put("private", json!(repo.private));
        put("owner", self.owner(repo));
        put("html_url", json!(self.urls.repo_html(repo)));
        put("description", Value::Null);
        put("fork", json!(false));
        put("url", json!(api));
        for (key, suffix) in [
            ("archive_url", "/{archive_format}{/ref}"),
            ("assignees_url", "/assignees{/user}"),
            ("blobs_url", "/git/blobs{/sha}"),
            ("branches_url", "/branches{/branch}"),
            ("collaborators_url", "/collaborators{/collaborator}"),
            ("comments_url", "/comments{/number}"),
            ("commits_url", "/commits{/sha}"),
            ("compare_url", "/compare/{base}...{head}"),
            ("contents_url", "/contents/{+path}"),
            ("contributors_url", "/contributors"),
            ("deployments_url", "/deployments"),
            ("downloads_url", "/downloads"),
            ("events_url", "/events"),
            ("forks_url", "/forks"),
            ("git_commits_url", "/git/commits{/sha}"),
            ("git_refs_url", "/git/refs{/sha}"),
            ("git_tags_url", "/git/tags{/sha}"),
            ("hooks_url", "/hooks"),
            ("issue_comment_url", "/issues/comments{/number}"),
            ("issue_events_url", "/issues/events{/number}"),
            ("issues_url", "/issues{/number}"),
            ("keys_url", "/keys{/key_id}"),
            ("labels_url", "/labels{/name}"),
            ("languages_url", "/languages"),
            ("merges_url", "/merges"),
            ("milestones_url", "/milestones{/number}"),
            ("notifications_url", "/notifications{?since,all,participating}"),
            ("pulls_url", "/pulls{/number}"),
            ("releases_url", "/releases{/id}"),
            ("stargazers_url", "/stargazers"),
            ("statuses_url", "/statuses/{sha}"),
            ("subscribers_url", "/subscribers"),
            ("subscription_url", "/subscription"),
            ("tags_url", "/tags"),
            ("teams_url", "/teams"),
            ("trees_url", "/git/trees{/sha}"),
        ] {
            put(key, json!(format!("{api}{suffix}")));
        }
        m
    }

    /// The full "repository" object (as in a pull request's `head.repo`/`base.repo` and the
    /// org repository list).
    pub fn repo(&self, repo: &GhRepo) -> Value {
        let mut m = self.repo_minimal(repo);
        let html = self.urls.repo_html(repo);
        let host = self
            .urls
            .origin
            .split_once("://")
            .map_or(self.urls.origin.as_str(), |(_, h)| h);
        let open = repo.pulls.iter().filter(|p| pr_state(p) == "OPEN").count();
        let extra = json!({
            "created_at": iso(&repo.created_at),
            "updated_at": iso(&repo.updated_at),
            "pushed_at": iso(&repo.pushed_at),
            "git_url": format!("git://{host}/{}/{}.git", repo.owner, repo.name),
            "ssh_url": format!("git@{host}:{}/{}.git", repo.owner, repo.name),
            "clone_url": format!("{html}.git"),
            "svn_url": html,
            "homepage": null,
            "mirror_url": null,
            "size": 1024 + repo.pulls.len() * 16,
            "stargazers_count": 0,
            "watchers_count": 0,
            "watchers": 0,
            "forks_count": 0,
            "forks": 0,
            "open_issues_count": open,
            "open_issues": open,
            "language": "Rust",
            "has_issues": true,
            "has_projects": true,
            "has_downloads": true,
            "has_wiki": false,
            "has_pages": false,
            "has_discussions": false,
            "archived": repo.archived,
            "disabled": false,
            "visibility": if repo.private { "private" } else { "public" },
            "license": null,
            "allow_forking": !repo.private,
            "is_template": false,
            "web_commit_signoff_required": false,
            "topics": [],
            "default_branch": repo.default_branch,
        });
        if let Value::Object(e) = extra {
            m.extend(e);
        }
        Value::Object(m)
    }

    /// `GET /repos/{o}/{r}`: the full repository plus what only the single view has.
    pub fn repo_single(&self, repo: &GhRepo) -> Value {
        let mut v = self.repo(repo);
        if let Value::Object(m) = &mut v {
            let org = repo.owner.eq_ignore_ascii_case(&self.gh.org).then(|| self.owner(repo));
            let extra = json!({
                "permissions": {"admin": false, "maintain": false, "push": false, "triage": false, "pull": true},
                "allow_rebase_merge": true,
                "allow_squash_merge": true,
                "allow_merge_commit": true,
                "allow_auto_merge": false,
                "delete_branch_on_merge": false,
                "allow_update_branch": false,
                "use_squash_pr_title_as_default": false,
                "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
                "squash_merge_commit_message": "COMMIT_MESSAGES",
                "merge_commit_title": "MERGE_MESSAGE",
                "merge_commit_message": "PR_TITLE",
                "temp_clone_token": "",
                "network_count": 0,
                "subscribers_count": 0,
            });
            if let Value::Object(e) = extra {
                m.extend(e);
            }
            if let Some(org) = org {
                m.insert("organization".into(), org);
            }
        }
        v
    }

    /// A pull request: list item, or (`full`) the single view with merge state and counts.
    /// `repo_json` is the repository object, rendered once per request by the caller.
    pub fn pull(&self, repo: &GhRepo, repo_json: &Value, pr: &GhPull, full: bool) -> Value {
        let api = self.urls.repo_api(repo);
        let html = self.urls.repo_html(repo);
        let n = pr.number;
        let self_url = format!("{api}/pulls/{n}");
        let html_url = format!("{html}/pull/{n}");
        let issue_url = format!("{api}/issues/{n}");
        let author = self.gh.users.get(pr.author);
        let base_sha = synth_sha(&[&repo.node_id, &pr.base_ref, &pr.created_at.to_rfc3339()]);
        let head_user = self.owner(repo);
        let statuses = format!("{api}/statuses/{}", pr.head_sha);
        let links = json!({
            "self": {"href": self_url},
            "html": {"href": html_url},
            "issue": {"href": issue_url},
            "comments": {"href": format!("{issue_url}/comments")},
            "review_comments": {"href": format!("{self_url}/comments")},
            "review_comment": {"href": format!("{api}/pulls/comments{{/number}}")},
            "commits": {"href": format!("{self_url}/commits")},
            "statuses": {"href": statuses},
        });
        let head = json!({
            "label": format!("{}:{}", repo.owner, pr.head_ref),
            "ref": pr.head_ref,
            "sha": pr.head_sha,
            "user": head_user,
            "repo": repo_json,
        });
        let base = json!({
            "label": format!("{}:{}", repo.owner, pr.base_ref),
            "ref": pr.base_ref,
            "sha": base_sha,
            "user": head_user,
            "repo": repo_json,
        });
        let mut v = json!({
            "url": self_url,
            "id": pr.id,
            "node_id": pr.node_id,
            "html_url": html_url,
            "diff_url": format!("{html_url}.diff"),
            "patch_url": format!("{html_url}.patch"),
            "issue_url": issue_url,
            "number": n,
            "state": pr_rest_state(pr),
            "locked": false,
            "title": pr.title,
            "user": self.user_at(pr.author),
            "body": pr.body,
            "created_at": iso(&pr.created_at),
            "updated_at": iso(&pr.updated_at),
            "closed_at": iso_opt(&pr.closed_at),
            "merged_at": iso_opt(&pr.merged_at),
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": null,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "labels": [],
            "milestone": null,
            "draft": pr.draft,
            "commits_url": format!("{self_url}/commits"),
            "review_comments_url": format!("{self_url}/comments"),
            "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
            "comments_url": format!("{issue_url}/comments"),
            "statuses_url": statuses,
            "head": head,
            "base": base,
            "_links": links,
            "author_association": author_association(author),
            "auto_merge": null,
            "active_lock_reason": null,
        });
        if full && let Value::Object(m) = &mut v {
            let merged = pr.merged_at.is_some();
            let extra = json!({
                "merged": merged,
                "mergeable": null,
                "rebaseable": null,
                "mergeable_state": "unknown",
                "merged_by": null,
                "comments": pr.comments.len(),
                "review_comments": pr.review_comments.len(),
                "maintainer_can_modify": false,
                "commits": pr.commits.len(),
                "additions": pr.additions,
                "deletions": pr.deletions,
                "changed_files": pr.changed_files,
            });
            if let Value::Object(e) = extra {
                m.extend(e);
            }
        }
        v
    }

    pub fn review(&self, repo: &GhRepo, pr: &GhPull, r: &GhReview) -> Value {
        let api = self.urls.repo_api(repo);
        let html = format!(
            "{}/pull/{}#pullrequestreview-{}",
            self.urls.repo_html(repo),
            pr.number,
            r.id
        );
        let pr_url = format!("{api}/pulls/{}", pr.number);
        json!({
            "id": r.id,
            "node_id": r.node_id,
            "user": self.user_at(r.author),
            "body": r.body,
            "state": r.state,
            "html_url": html,
            "pull_request_url": pr_url,
            "author_association": author_association(self.gh.users.get(r.author)),
            "_links": {"html": {"href": html}, "pull_request": {"href": pr_url}},
            "submitted_at": iso(&r.submitted_at),
            "commit_id": r.commit_sha,
        })
    }

    /// A commit of a pull request (`idx` into `pr.commits`; the parent is the previous one).
    pub fn pr_commit(&self, repo: &GhRepo, pr: &GhPull, idx: usize) -> Value {
        let c = &pr.commits[idx];
        let api = self.urls.repo_api(repo);
        let html = self.urls.repo_html(repo);
        let tree = synth_sha(&["tree", &c.sha]);
        let parent = match idx.checked_sub(1).and_then(|i| pr.commits.get(i)) {
            Some(p) => p.sha.clone(),
            None => synth_sha(&[&repo.node_id, &pr.base_ref, &pr.created_at.to_rfc3339()]),
        };
        let user = self.user_opt(c.author);
        json!({
            "sha": c.sha,
            "node_id": commit_node_id(repo, &c.sha),
            "commit": {
                "author": {"name": c.author_name, "email": c.author_email, "date": iso(&c.authored_at)},
                "committer": {"name": c.author_name, "email": c.author_email, "date": iso(&c.committed_at)},
                "message": c.message,
                "tree": {"sha": tree, "url": format!("{api}/git/trees/{tree}")},
                "url": format!("{api}/git/commits/{}", c.sha),
                "comment_count": 0,
                "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null},
            },
            "url": format!("{api}/commits/{}", c.sha),
            "html_url": format!("{html}/commit/{}", c.sha),
            "comments_url": format!("{api}/commits/{}/comments", c.sha),
            "author": user,
            "committer": user,
            "parents": [{
                "sha": parent,
                "url": format!("{api}/commits/{parent}"),
                "html_url": format!("{html}/commit/{parent}"),
            }],
        })
    }

    fn reactions(url: &str) -> Value {
        json!({
            "url": format!("{url}/reactions"),
            "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
            "confused": 0, "heart": 0, "rocket": 0, "eyes": 0,
        })
    }

    pub fn review_comment(&self, repo: &GhRepo, pr: &GhPull, c: &GhReviewComment) -> Value {
        let api = self.urls.repo_api(repo);
        let url = format!("{api}/pulls/comments/{}", c.id);
        let html = format!("{}/pull/{}#discussion_r{}", self.urls.repo_html(repo), pr.number, c.id);
        let pr_url = format!("{api}/pulls/{}", pr.number);
        let line = 1 + c.id % 200;
        json!({
            "url": url,
            "pull_request_review_id": c.review_id,
            "id": c.id,
            "node_id": c.node_id,
            "diff_hunk": format!("@@ -{line},3 +{line},4 @@"),
            "path": c.path,
            "position": 1,
            "original_position": 1,
            "commit_id": c.commit_sha,
            "original_commit_id": c.commit_sha,
            "user": self.user_at(c.author),
            "body": c.body,
            "created_at": iso(&c.created_at),
            "updated_at": iso(&c.updated_at),
            "html_url": html,
            "pull_request_url": pr_url,
            "author_association": author_association(self.gh.users.get(c.author)),
            "_links": {"self": {"href": url}, "html": {"href": html}, "pull_request": {"href": pr_url}},
            "reactions": Self::reactions(&url),
            "start_line": null,
            "original_start_line": null,
            "start_side": null,
            "line": line,
            "original_line": line,
            "side": "RIGHT",
            "subject_type": "line",
        })
    }

    pub fn issue_comment(&self, repo: &GhRepo, pr: &GhPull, c: &GhComment) -> Value {
        let api = self.urls.repo_api(repo);
        let url = format!("{api}/issues/comments/{}", c.id);
        json!({
            "url": url,
            "html_url": format!("{}/pull/{}#issuecomment-{}", self.urls.repo_html(repo), pr.number, c.id),
            "issue_url": format!("{api}/issues/{}", pr.number),
            "id": c.id,
            "node_id": c.node_id,
            "user": self.user_at(c.author),
            "created_at": iso(&c.created_at),
            "updated_at": iso(&c.updated_at),
            "body": c.body,
            "author_association": author_association(self.gh.users.get(c.author)),
            "performed_via_github_app": null,
            "reactions": Self::reactions(&url),
        })
    }

    pub fn deployment(&self, repo: &GhRepo, d: &GhDeployment) -> Value {
        let api = self.urls.repo_api(repo);
        let url = format!("{api}/deployments/{}", d.id);
        json!({
            "url": url,
            "id": d.id,
            "node_id": d.node_id,
            "sha": d.sha,
            "ref": d.r#ref,
            "task": d.task,
            "payload": {},
            "original_environment": d.environment,
            "environment": d.environment,
            "description": null,
            "creator": self.user_at(d.creator),
            "created_at": iso(&d.created_at),
            "updated_at": iso(&d.updated_at),
            "statuses_url": format!("{url}/statuses"),
            "repository_url": api,
            "transient_environment": false,
            "production_environment": d.environment == "production",
            "performed_via_github_app": null,
        })
    }

    pub fn deployment_status(&self, repo: &GhRepo, d: &GhDeployment, s: &GhDeploymentStatus) -> Value {
        let api = self.urls.repo_api(repo);
        let dep_url = format!("{api}/deployments/{}", d.id);
        json!({
            "url": format!("{dep_url}/statuses/{}", s.id),
            "id": s.id,
            "node_id": s.node_id,
            "state": s.state,
            "creator": self.user_at(d.creator),
            "description": s.description,
            "environment": d.environment,
            "target_url": "",
            "created_at": iso(&s.created_at),
            "updated_at": iso(&s.created_at),
            "deployment_url": dep_url,
            "repository_url": api,
            "environment_url": "",
            "log_url": "",
            "performed_via_github_app": null,
        })
    }

    pub fn release(&self, repo: &GhRepo, r: &GhRelease) -> Value {
        let api = self.urls.repo_api(repo);
        let html = self.urls.repo_html(repo);
        let url = format!("{api}/releases/{}", r.id);
        let upload = format!(
            "{}/uploads/repos/{}/{}/releases/{}/assets{{?name,label}}",
            self.urls.origin, repo.owner, repo.name, r.id
        );
        json!({
            "url": url,
            "html_url": format!("{html}/releases/tag/{}", r.tag_name),
            "assets_url": format!("{url}/assets"),
            "upload_url": upload,
            "tarball_url": format!("{api}/tarball/{}", r.tag_name),
            "zipball_url": format!("{api}/zipball/{}", r.tag_name),
            "id": r.id,
            "node_id": r.node_id,
            "tag_name": r.tag_name,
            "target_commitish": r.target_commitish,
            "name": r.name,
            "body": "",
            "draft": r.draft,
            "prerelease": r.prerelease,
            "immutable": false,
            "created_at": iso(&r.created_at),
            "updated_at": iso(r.published_at.as_ref().unwrap_or(&r.created_at)),
            "published_at": iso_opt(&r.published_at),
            "author": self.user_at(r.author),
            "assets": [],
        })
    }

    /// A workflow run; `commits` maps shas of the repository's PR commits (for `head_commit`).
    pub fn run(&self, repo: &GhRepo, repo_json: &Value, r: &GhRun, commits: &HashMap<&str, &GhCommit>) -> Value {
        let api = self.urls.repo_api(repo);
        let url = format!("{api}/actions/runs/{}", r.id);
        let actor = self.user_at(r.actor);
        let check_suite_id = r.id.wrapping_mul(3).wrapping_add(7);
        let head_commit = match commits.get(r.head_sha.as_str()) {
            Some(c) => json!({
                "id": c.sha,
                "tree_id": synth_sha(&["tree", &c.sha]),
                "message": c.message,
                "timestamp": iso(&c.committed_at),
                "author": {"name": c.author_name, "email": c.author_email},
                "committer": {"name": c.author_name, "email": c.author_email},
            }),
            None => {
                let (name, email) = self
                    .gh
                    .users
                    .get(r.actor)
                    .map_or(("ghost", ""), |u| (u.name.as_str(), u.email.as_str()));
                json!({
                    "id": r.head_sha,
                    "tree_id": synth_sha(&["tree", &r.head_sha]),
                    "message": format!("Merge into {}", r.head_branch),
                    "timestamp": iso(&r.created_at),
                    "author": {"name": name, "email": email},
                    "committer": {"name": name, "email": email},
                })
            }
        };
        json!({
            "id": r.id,
            "name": r.name,
            "node_id": r.node_id,
            "head_branch": r.head_branch,
            "head_sha": r.head_sha,
            "path": workflow_path(&r.name),
            "display_title": r.name,
            "run_number": r.run_number,
            "event": r.event,
            "status": r.status,
            "conclusion": r.conclusion,
            "workflow_id": r.workflow_id,
            "check_suite_id": check_suite_id,
            "check_suite_node_id": BASE64.encode(format!("010:CheckSuite{check_suite_id}")),
            "url": url,
            "html_url": format!("{}/actions/runs/{}", self.urls.repo_html(repo), r.id),
            "pull_requests": [],
            "created_at": iso(&r.created_at),
            "updated_at": iso(&r.updated_at),
            "actor": actor,
            "triggering_actor": actor,
            "run_attempt": r.run_attempt,
            "referenced_workflows": [],
            "run_started_at": iso(&r.run_started_at),
            "jobs_url": format!("{url}/jobs"),
            "logs_url": format!("{url}/logs"),
            "check_suite_url": format!("{api}/check-suites/{check_suite_id}"),
            "artifacts_url": format!("{url}/artifacts"),
            "cancel_url": format!("{url}/cancel"),
            "rerun_url": format!("{url}/rerun"),
            "previous_attempt_url": if r.run_attempt > 1 { json!(format!("{url}/attempts/{}", r.run_attempt - 1)) } else { Value::Null },
            "workflow_url": format!("{api}/actions/workflows/{}", r.workflow_id),
            "head_commit": head_commit,
            "repository": repo_json,
            "head_repository": repo_json,
        })
    }
}
