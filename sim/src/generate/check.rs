//! Structural invariants of a dataset: references resolve, ids are unique, lists are sorted,
//! timelines are consistent and nothing is later than `now`. `generate` and `advance` must
//! always produce datasets for which `check_invariants` returns nothing.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Timelike, Utc};

use crate::model::{Dataset, GhPull, GhRepo, JiraData, JiraIssue, cmp_numeric};

/// Every violated invariant, as a human-readable line (empty when the dataset is sound). Stops
/// collecting after a few hundred problems.
pub fn check_invariants(data: &Dataset) -> Vec<String> {
    let mut c = Checker {
        now: data.now,
        errors: Vec::new(),
    };
    c.jira(&data.jira);
    c.github(data);
    c.errors
}

const MAX_ERRORS: usize = 200;

struct Checker {
    now: DateTime<Utc>,
    errors: Vec<String>,
}

macro_rules! ensure {
    ($c:expr, $cond:expr, $($msg:tt)+) => {
        if !$cond && $c.errors.len() < MAX_ERRORS {
            $c.errors.push(format!($($msg)+));
        }
    };
}

fn numeric(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn whole_ms(t: DateTime<Utc>) -> bool {
    t.nanosecond().is_multiple_of(1_000_000)
}

fn whole_s(t: DateTime<Utc>) -> bool {
    t.nanosecond() == 0
}

impl Checker {
    fn time_ms(&mut self, what: &str, t: DateTime<Utc>) {
        ensure!(self, t <= self.now, "{what}: {t} is after now {}", self.now);
        ensure!(self, whole_ms(t), "{what}: {t} is not whole milliseconds");
    }

    fn time_s(&mut self, what: &str, t: DateTime<Utc>) {
        ensure!(self, t <= self.now, "{what}: {t} is after now {}", self.now);
        ensure!(self, whole_s(t), "{what}: {t} is not whole seconds");
    }

    fn jira(&mut self, j: &JiraData) {
        ensure!(self, !j.user_time_zone.is_empty(), "jira: empty user_time_zone");
        let mut seen = HashSet::new();
        for u in &j.users {
            ensure!(self, !u.account_id.is_empty(), "jira user {}: empty account id", u.name);
            ensure!(
                self,
                seen.insert(u.account_id.as_str()),
                "jira user {}: duplicate account id",
                u.name
            );
            ensure!(
                self,
                seen.insert(u.name.as_str()),
                "jira user {}: duplicate name",
                u.name
            );
        }
        let account: HashMap<&str, usize> = j
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.account_id.as_str(), i))
            .collect();

        let mut statuses = HashMap::new();
        for s in &j.statuses {
            ensure!(self, numeric(&s.id), "status {}: id {:?} not numeric", s.name, s.id);
            ensure!(
                self,
                matches!(s.category_key.as_str(), "new" | "indeterminate" | "done"),
                "status {}: category {:?}",
                s.name,
                s.category_key
            );
            ensure!(
                self,
                statuses.insert(s.id.as_str(), s).is_none(),
                "status {}: duplicate id",
                s.id
            );
        }
        let mut types = HashMap::new();
        for t in &j.issue_types {
            ensure!(self, numeric(&t.id), "issue type {}: id not numeric", t.name);
            ensure!(
                self,
                t.subtask == (t.hierarchy_level == -1),
                "issue type {}: subtask/hierarchy mismatch",
                t.name
            );
            ensure!(
                self,
                types.insert(t.id.as_str(), t).is_none(),
                "issue type {}: duplicate id",
                t.id
            );
        }
        let mut projects = HashMap::new();
        let mut keys = HashSet::new();
        for p in &j.projects {
            ensure!(self, numeric(&p.id), "project {}: id not numeric", p.key);
            ensure!(
                self,
                !p.key.is_empty() && p.key.bytes().all(|b| b.is_ascii_uppercase()),
                "project key {:?} is not upper-case letters",
                p.key
            );
            ensure!(self, keys.insert(p.key.as_str()), "project key {} duplicated", p.key);
            ensure!(
                self,
                projects.insert(p.id.as_str(), p).is_none(),
                "project {}: duplicate id",
                p.id
            );
        }

        let by_id: HashMap<&str, &JiraIssue> = j.issues.iter().map(|i| (i.id.as_str(), i)).collect();
        ensure!(self, by_id.len() == j.issues.len(), "jira: duplicate issue ids");
        let mut issue_keys = HashSet::new();
        let mut history_ids: Vec<(u64, DateTime<Utc>)> = Vec::new();
        for (n, i) in j.issues.iter().enumerate() {
            let k = &i.key;
            ensure!(self, numeric(&i.id), "{k}: id {:?} not numeric", i.id);
            if n > 0 {
                ensure!(
                    self,
                    cmp_numeric(&j.issues[n - 1].id, &i.id).is_lt(),
                    "{k}: issues not sorted by id ({} before {})",
                    j.issues[n - 1].id,
                    i.id
                );
            }
            ensure!(self, issue_keys.insert(k.as_str()), "{k}: duplicate key");
            match projects.get(i.project_id.as_str()) {
                Some(p) => {
                    let ok = k
                        .strip_prefix(p.key.as_str())
                        .and_then(|r| r.strip_prefix('-'))
                        .is_some_and(numeric);
                    ensure!(self, ok, "{k}: key does not match project {}", p.key);
                }
                None => ensure!(self, false, "{k}: unknown project {}", i.project_id),
            }
            let ty = types.get(i.issue_type_id.as_str()).copied();
            ensure!(self, ty.is_some(), "{k}: unknown issue type {}", i.issue_type_id);
            ensure!(
                self,
                statuses.contains_key(i.status_id.as_str()),
                "{k}: unknown status {}",
                i.status_id
            );
            for u in [i.assignee, i.reporter].into_iter().flatten() {
                ensure!(self, u < j.users.len(), "{k}: user index {u} out of range");
            }
            ensure!(self, !i.summary.is_empty(), "{k}: empty summary");
            if let Some(p) = &i.priority {
                ensure!(
                    self,
                    super::jira::PRIORITIES.iter().any(|x| x.1 == p),
                    "{k}: unknown priority {p}"
                );
            }
            // Parents.
            match (&i.parent_id, ty) {
                (Some(pid), Some(ty)) => match by_id.get(pid.as_str()) {
                    Some(parent) => {
                        let pty = types.get(parent.issue_type_id.as_str());
                        if ty.subtask {
                            ensure!(
                                self,
                                pty.is_some_and(|t| !t.subtask && t.hierarchy_level == 0),
                                "{k}: sub-task parent {} is not a standard issue",
                                parent.key
                            );
                            ensure!(
                                self,
                                parent.project_id == i.project_id,
                                "{k}: sub-task parent in another project"
                            );
                        } else {
                            ensure!(
                                self,
                                pty.is_some_and(|t| t.hierarchy_level == ty.hierarchy_level + 1),
                                "{k}: parent {} is not one level up",
                                parent.key
                            );
                        }
                    }
                    None => ensure!(self, false, "{k}: parent {pid} does not exist"),
                },
                (None, Some(ty)) => ensure!(self, !ty.subtask, "{k}: sub-task without parent"),
                _ => {}
            }

            // Timeline.
            self.time_ms(&format!("{k} created"), i.created);
            self.time_ms(&format!("{k} updated"), i.updated);
            ensure!(self, i.created <= i.updated, "{k}: created after updated");
            let mut last = i.created;
            let mut status: Option<&str> = None;
            let mut resolved: Option<DateTime<Utc>> = None;
            let mut assignee: Option<Option<&str>> = None;
            let mut points: Option<Option<&str>> = None;
            let mut priority: Option<Option<&str>> = None;
            for h in &i.changelog {
                self.time_ms(&format!("{k} history {}", h.id), h.created);
                ensure!(self, h.created >= last, "{k}: history {} out of order", h.id);
                last = h.created;
                ensure!(
                    self,
                    h.author < j.users.len(),
                    "{k}: history {} author out of range",
                    h.id
                );
                ensure!(self, !h.items.is_empty(), "{k}: history {} has no items", h.id);
                match h.id.parse::<u64>() {
                    Ok(id) => history_ids.push((id, h.created)),
                    Err(_) => ensure!(self, false, "{k}: history id {:?} not numeric", h.id),
                }
                for it in &h.items {
                    ensure!(
                        self,
                        matches!(it.field_type.as_str(), "jira" | "custom"),
                        "{k}: field type {}",
                        it.field_type
                    );
                    match it.field.as_str() {
                        "status" => {
                            let from = it.from.as_deref().unwrap_or_default();
                            let to = it.to.as_deref().unwrap_or_default();
                            if let Some(cur) = status {
                                ensure!(
                                    self,
                                    cur == from,
                                    "{k}: status change {} starts from {from}, issue was in {cur}",
                                    h.id
                                );
                            }
                            for (id, name) in [(from, &it.from_string), (to, &it.to_string)] {
                                match statuses.get(id) {
                                    Some(s) => ensure!(
                                        self,
                                        name.as_deref() == Some(s.name.as_str()),
                                        "{k}: status {id} named {name:?}"
                                    ),
                                    None => ensure!(self, false, "{k}: unknown status {id} in history {}", h.id),
                                }
                            }
                            let done = |id: &str| statuses.get(id).is_some_and(|s| s.category_key == "done");
                            if done(to) && !done(from) {
                                resolved = Some(h.created);
                            }
                            status = Some(to);
                        }
                        "assignee" => {
                            if let Some(a) = it.to.as_deref() {
                                ensure!(
                                    self,
                                    account.contains_key(a),
                                    "{k}: assignee item to unknown account {a}"
                                );
                            }
                            assignee = Some(it.to.as_deref());
                        }
                        "Story Points" => {
                            ensure!(
                                self,
                                it.field_id.as_deref() == Some(crate::model::STORY_POINTS_FIELD),
                                "{k}: story points field id"
                            );
                            points = Some(it.to.as_deref());
                        }
                        "priority" => priority = Some(it.to_string.as_deref()),
                        _ => {}
                    }
                }
            }
            ensure!(self, last <= i.updated, "{k}: last history after updated");
            if let Some(s) = status {
                ensure!(
                    self,
                    s == i.status_id,
                    "{k}: status {} but last transition went to {s}",
                    i.status_id
                );
            }
            let done = statuses
                .get(i.status_id.as_str())
                .is_some_and(|s| s.category_key == "done");
            if done {
                ensure!(self, i.resolved.is_some(), "{k}: done but not resolved");
                if status.is_some() {
                    ensure!(
                        self,
                        i.resolved == resolved,
                        "{k}: resolved {:?} but entered done at {resolved:?}",
                        i.resolved
                    );
                }
            } else {
                ensure!(
                    self,
                    i.resolved.is_none(),
                    "{k}: resolved but status {} is not done",
                    i.status_id
                );
            }
            if let Some(r) = i.resolved {
                self.time_ms(&format!("{k} resolved"), r);
                ensure!(
                    self,
                    r >= i.created && r <= i.updated,
                    "{k}: resolved outside created..updated"
                );
            }
            if let Some(a) = assignee {
                let cur = i.assignee.and_then(|u| j.users.get(u)).map(|u| u.account_id.as_str());
                ensure!(
                    self,
                    a == cur,
                    "{k}: assignee {cur:?} but last assignee change went to {a:?}"
                );
            }
            if let Some(p) = points {
                let cur = i.story_points.map(super::jira::points_str);
                ensure!(
                    self,
                    p == cur.as_deref(),
                    "{k}: story points {cur:?} but last change went to {p:?}"
                );
            }
            if let Some(p) = priority {
                ensure!(
                    self,
                    p == i.priority.as_deref(),
                    "{k}: priority {:?} but last change went to {p:?}",
                    i.priority
                );
            }
        }
        // History ids: unique, and growing with time across the whole site.
        history_ids.sort_unstable();
        for w in history_ids.windows(2) {
            ensure!(self, w[0].0 != w[1].0, "history id {} duplicated", w[0].0);
            ensure!(
                self,
                w[0].1 <= w[1].1,
                "history ids {} and {} go back in time",
                w[0].0,
                w[1].0
            );
        }
    }

    fn github(&mut self, data: &Dataset) {
        let g = &data.github;
        ensure!(self, g.org == "acme", "github: org {:?}", g.org);
        let mut ids = HashSet::new();
        let mut nodes = HashSet::new();
        let mut logins = HashSet::new();
        let mut emails: HashMap<&str, usize> = HashMap::new();
        for (i, u) in g.users.iter().enumerate() {
            ensure!(self, ids.insert(u.id), "github user {}: duplicate id", u.login);
            ensure!(
                self,
                nodes.insert(u.node_id.clone()),
                "github user {}: duplicate node id",
                u.login
            );
            ensure!(
                self,
                logins.insert(u.login.as_str()),
                "github user {}: duplicate login",
                u.login
            );
            ensure!(
                self,
                (u.kind == "Bot") == u.login.ends_with("[bot]") && matches!(u.kind.as_str(), "User" | "Bot"),
                "github user {}: kind {}",
                u.login,
                u.kind
            );
            emails.insert(u.email.as_str(), i);
        }
        let n_users = g.users.len();
        let mut repo_ids = HashSet::new();
        let mut names = HashSet::new();
        let mut pr_ids = HashSet::new();
        let mut review_ids = HashSet::new();
        let mut comment_ids = HashSet::new();
        let mut rc_ids = HashSet::new();
        let mut dep_ids = HashSet::new();
        let mut status_ids = HashSet::new();
        let mut release_ids = HashSet::new();
        let mut run_ids = HashSet::new();
        for repo in &g.repos {
            let rn = repo.name.clone();
            ensure!(self, repo_ids.insert(repo.id), "repo {rn}: duplicate id");
            ensure!(self, nodes.insert(repo.node_id.clone()), "repo {rn}: duplicate node id");
            ensure!(self, names.insert(repo.name.as_str()), "repo {rn}: duplicate name");
            ensure!(self, repo.owner == g.org, "repo {rn}: owner {}", repo.owner);
            ensure!(self, !repo.default_branch.is_empty(), "repo {rn}: no default branch");
            for (what, t) in [
                ("created_at", repo.created_at),
                ("updated_at", repo.updated_at),
                ("pushed_at", repo.pushed_at),
            ] {
                self.time_s(&format!("repo {rn} {what}"), t);
            }
            ensure!(
                self,
                repo.created_at <= repo.pushed_at,
                "repo {rn}: pushed before created"
            );
            let mut merges: HashMap<&str, DateTime<Utc>> = HashMap::new();
            for (n, pr) in repo.pulls.iter().enumerate() {
                if n > 0 {
                    ensure!(
                        self,
                        repo.pulls[n - 1].number < pr.number,
                        "repo {rn}: pulls not sorted by number at #{}",
                        pr.number
                    );
                }
                ensure!(self, pr_ids.insert(pr.id), "{rn}#{}: duplicate id", pr.number);
                ensure!(
                    self,
                    nodes.insert(pr.node_id.clone()),
                    "{rn}#{}: duplicate node id",
                    pr.number
                );
                if let (Some(sha), Some(m)) = (&pr.merge_commit_sha, pr.merged_at) {
                    merges.insert(sha.as_str(), m);
                }
                self.pull(
                    repo,
                    pr,
                    n_users,
                    &emails,
                    (&mut review_ids, &mut comment_ids, &mut rc_ids, &mut nodes),
                );
            }
            let mut last_created = None;
            for d in &repo.deployments {
                let what = format!("{rn} deployment {}", d.id);
                ensure!(self, dep_ids.insert(d.id), "{what}: duplicate id");
                ensure!(self, nodes.insert(d.node_id.clone()), "{what}: duplicate node id");
                ensure!(self, d.r#ref == repo.default_branch, "{what}: ref {}", d.r#ref);
                ensure!(self, d.creator < n_users, "{what}: creator out of range");
                ensure!(
                    self,
                    matches!(d.environment.as_str(), "production" | "staging"),
                    "{what}: environment {}",
                    d.environment
                );
                match merges.get(d.sha.as_str()) {
                    Some(m) => ensure!(self, *m <= d.created_at, "{what}: deploys a merge from the future"),
                    None => ensure!(self, false, "{what}: sha {} is no merge commit of the repo", d.sha),
                }
                ensure!(
                    self,
                    last_created.is_none_or(|l| l <= d.created_at),
                    "{what}: deployments not in creation order"
                );
                last_created = Some(d.created_at);
                self.time_s(&format!("{what} created_at"), d.created_at);
                self.time_s(&format!("{what} updated_at"), d.updated_at);
                let mut t = d.created_at;
                for s in &d.statuses {
                    ensure!(self, status_ids.insert(s.id), "{what}: duplicate status id {}", s.id);
                    ensure!(
                        self,
                        nodes.insert(s.node_id.clone()),
                        "{what}: duplicate status node id"
                    );
                    ensure!(
                        self,
                        matches!(
                            s.state.as_str(),
                            "error" | "failure" | "inactive" | "pending" | "success" | "queued" | "in_progress"
                        ),
                        "{what}: state {}",
                        s.state
                    );
                    self.time_s(&format!("{what} status"), s.created_at);
                    ensure!(self, s.created_at >= t, "{what}: statuses out of order");
                    t = s.created_at;
                }
                ensure!(
                    self,
                    d.updated_at == t,
                    "{what}: updated_at {} but last status at {t}",
                    d.updated_at
                );
            }
            for r in &repo.releases {
                let what = format!("{rn} release {}", r.tag_name);
                ensure!(self, release_ids.insert(r.id), "{what}: duplicate id");
                ensure!(self, r.author < n_users, "{what}: author out of range");
                self.time_s(&what, r.created_at);
                ensure!(
                    self,
                    r.draft == r.published_at.is_none(),
                    "{what}: draft/published mismatch"
                );
                if let Some(p) = r.published_at {
                    self.time_s(&what, p);
                    ensure!(self, p >= r.created_at, "{what}: published before created");
                }
            }
            let heads: HashSet<&str> = repo
                .pulls
                .iter()
                .flat_map(|p| p.commits.iter().map(|c| c.sha.as_str()))
                .chain(repo.deployments.iter().map(|d| d.sha.as_str()))
                .collect();
            let mut numbers = HashSet::new();
            for x in &repo.workflow_runs {
                let what = format!("{rn} run {}", x.id);
                ensure!(self, run_ids.insert(x.id), "{what}: duplicate id");
                ensure!(
                    self,
                    numbers.insert((x.workflow_id, x.run_number)),
                    "{what}: duplicate run number"
                );
                ensure!(self, x.actor < n_users, "{what}: actor out of range");
                ensure!(self, heads.contains(x.head_sha.as_str()), "{what}: unknown head sha");
                ensure!(
                    self,
                    (x.status == "completed") == x.conclusion.is_some(),
                    "{what}: status/conclusion mismatch"
                );
                for t in [x.created_at, x.run_started_at, x.updated_at] {
                    self.time_s(&what, t);
                }
                ensure!(
                    self,
                    x.created_at <= x.run_started_at && x.run_started_at <= x.updated_at,
                    "{what}: times out of order"
                );
            }
        }
    }

    fn pull(
        &mut self,
        repo: &GhRepo,
        pr: &GhPull,
        n_users: usize,
        emails: &HashMap<&str, usize>,
        (review_ids, comment_ids, rc_ids, nodes): (
            &mut HashSet<u64>,
            &mut HashSet<u64>,
            &mut HashSet<u64>,
            &mut HashSet<String>,
        ),
    ) {
        let p = format!("{}#{}", repo.name, pr.number);
        ensure!(self, pr.author < n_users, "{p}: author out of range");
        ensure!(
            self,
            !pr.title.is_empty() && !pr.head_ref.is_empty(),
            "{p}: empty title or branch"
        );
        ensure!(self, pr.base_ref == repo.default_branch, "{p}: base {}", pr.base_ref);
        match pr.state.as_str() {
            "open" => ensure!(
                self,
                pr.closed_at.is_none() && pr.merged_at.is_none() && pr.merge_commit_sha.is_none(),
                "{p}: open but closed/merged"
            ),
            "closed" => {
                ensure!(self, pr.closed_at.is_some(), "{p}: closed without closed_at");
                ensure!(self, !pr.draft, "{p}: closed draft");
            }
            s => ensure!(self, false, "{p}: state {s}"),
        }
        if let Some(m) = pr.merged_at {
            ensure!(self, pr.closed_at == Some(m), "{p}: merged_at != closed_at");
            ensure!(self, pr.merge_commit_sha.is_some(), "{p}: merged without merge commit");
        } else {
            ensure!(self, pr.merge_commit_sha.is_none(), "{p}: merge commit without merge");
        }
        self.time_s(&format!("{p} created_at"), pr.created_at);
        self.time_s(&format!("{p} updated_at"), pr.updated_at);
        if let Some(t) = pr.closed_at {
            self.time_s(&format!("{p} closed_at"), t);
            ensure!(self, t >= pr.created_at, "{p}: closed before created");
        }
        let mut max = pr.created_at.max(pr.closed_at.unwrap_or(pr.created_at));

        ensure!(self, !pr.commits.is_empty(), "{p}: no commits");
        ensure!(
            self,
            pr.commits.last().is_some_and(|c| c.sha == pr.head_sha),
            "{p}: head_sha is not the last commit"
        );
        let mut shas = HashSet::new();
        let mut last = None;
        for c in &pr.commits {
            self.time_s(&format!("{p} commit"), c.authored_at);
            self.time_s(&format!("{p} commit"), c.committed_at);
            ensure!(
                self,
                c.authored_at <= c.committed_at,
                "{p}: commit committed before authored"
            );
            ensure!(
                self,
                last.is_none_or(|l| l <= c.committed_at),
                "{p}: commits not in push order"
            );
            last = Some(c.committed_at);
            ensure!(self, shas.insert(c.sha.as_str()), "{p}: duplicate commit sha");
            if let Some(a) = c.author {
                ensure!(
                    self,
                    emails.get(c.author_email.as_str()) == Some(&a),
                    "{p}: commit author {a} does not own {}",
                    c.author_email
                );
            } else {
                ensure!(
                    self,
                    !emails.contains_key(c.author_email.as_str()),
                    "{p}: unlinked commit with a known e-mail"
                );
            }
            max = max.max(c.committed_at);
        }
        let mut reviews = HashSet::new();
        let mut last = pr.created_at;
        for r in &pr.reviews {
            ensure!(self, review_ids.insert(r.id), "{p}: duplicate review id {}", r.id);
            ensure!(self, nodes.insert(r.node_id.clone()), "{p}: duplicate review node id");
            ensure!(self, r.author < n_users, "{p}: reviewer out of range");
            ensure!(
                self,
                matches!(
                    r.state.as_str(),
                    "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED"
                ),
                "{p}: review state {}",
                r.state
            );
            self.time_s(&format!("{p} review"), r.submitted_at);
            ensure!(
                self,
                r.submitted_at >= last,
                "{p}: reviews out of order or before creation"
            );
            last = r.submitted_at;
            if let Some(c) = pr.closed_at {
                ensure!(self, r.submitted_at <= c, "{p}: review after close");
            }
            ensure!(
                self,
                shas.contains(r.commit_sha.as_str()),
                "{p}: review of unknown commit"
            );
            reviews.insert(r.id);
            max = max.max(r.submitted_at);
        }
        let mut last = pr.created_at;
        for c in &pr.comments {
            ensure!(self, comment_ids.insert(c.id), "{p}: duplicate comment id {}", c.id);
            ensure!(self, nodes.insert(c.node_id.clone()), "{p}: duplicate comment node id");
            ensure!(self, c.author < n_users, "{p}: commenter out of range");
            self.time_s(&format!("{p} comment"), c.created_at);
            self.time_s(&format!("{p} comment"), c.updated_at);
            ensure!(
                self,
                c.created_at >= last,
                "{p}: comments out of order or before creation"
            );
            last = c.created_at;
            ensure!(
                self,
                c.updated_at >= c.created_at,
                "{p}: comment updated before created"
            );
            max = max.max(c.updated_at);
        }
        for c in &pr.review_comments {
            ensure!(self, rc_ids.insert(c.id), "{p}: duplicate review comment id {}", c.id);
            ensure!(
                self,
                nodes.insert(c.node_id.clone()),
                "{p}: duplicate review comment node id"
            );
            ensure!(
                self,
                reviews.contains(&c.review_id),
                "{p}: review comment of unknown review {}",
                c.review_id
            );
            ensure!(self, c.author < n_users, "{p}: review commenter out of range");
            ensure!(
                self,
                shas.contains(c.commit_sha.as_str()),
                "{p}: review comment on unknown commit"
            );
            self.time_s(&format!("{p} review comment"), c.created_at);
            self.time_s(&format!("{p} review comment"), c.updated_at);
            ensure!(
                self,
                c.created_at >= pr.created_at,
                "{p}: review comment before creation"
            );
            ensure!(
                self,
                c.updated_at >= c.created_at,
                "{p}: review comment updated before created"
            );
            max = max.max(c.updated_at);
        }
        // Later is fine: leaving draft, label or title edits also move `updated_at`.
        ensure!(
            self,
            pr.updated_at >= max,
            "{p}: updated_at {} but last activity at {max}",
            pr.updated_at
        );
    }
}
