//! GitHub: users, repositories, pull requests with commits/reviews/comments, deployments,
//! releases and workflow runs.
//!
//! Built in two passes: `timeline` lays out everything with a time (it has to exist before the
//! Jira incidents it causes), `finish` writes the texts that mention Jira keys and the workflow
//! runs that use branch names.

use std::collections::{HashMap, HashSet};

use rand::Rng;
use rand::rngs::StdRng;

use super::jira::{IncidentSeed, Kind, kind_of_type};
use super::text::{self, PEOPLE};
use super::util::{
    DAY, HOUR, IdSeq, MIN, SEC, floor_sec, ids_by_time, log_uniform, ms_of, node_id, poisson, rng_for, sha, ts,
    weighted, work_time,
};
use crate::model::{
    GhComment, GhCommit, GhDeployment, GhDeploymentStatus, GhPull, GhRelease, GhRepo, GhReview, GhReviewComment, GhRun,
    GhUser, GithubData, JiraData,
};

pub(super) const ORG: &str = "acme";

/// Bots, after the humans in `GithubData::users`: (login, id, name).
const BOTS: [(&str, u64, &str); 3] = [
    ("dependabot[bot]", 49_699_333, "Dependabot"),
    ("renovate[bot]", 29_139_614, "Renovate Bot"),
    ("github-actions[bot]", 41_898_282, "GitHub Actions"),
];

pub(super) const CI_WORKFLOW: &str = "CI";
pub(super) const DEPLOY_WORKFLOW: &str = "Deploy production";

pub(super) fn ci_workflow_id(repo: usize) -> u64 {
    7_000_000 + repo as u64 * 16 + 1
}

pub(super) fn deploy_workflow_id(repo: usize) -> u64 {
    7_000_000 + repo as u64 * 16 + 2
}

/// Index ranges in `GithubData::users`.
#[derive(Clone, Copy)]
pub(super) struct Who {
    pub humans: usize,
}

impl Who {
    pub(super) fn dependabot(self) -> usize {
        self.humans
    }
    pub(super) fn renovate(self) -> usize {
        self.humans + 1
    }
    pub(super) fn actions(self) -> usize {
        self.humans + 2
    }
    pub(super) fn is_bot(self, u: usize) -> bool {
        u >= self.humans
    }
}

/// Identifies the kind of each user of an existing dataset (for `advance`).
pub(super) fn who(users: &[GhUser]) -> Who {
    Who {
        humans: users.iter().take_while(|u| u.kind == "User").count(),
    }
}

fn users(rng: &mut StdRng) -> Vec<GhUser> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for p in &PEOPLE {
        let Some(login) = p.github_login else {
            continue;
        };
        let mut id = rng.random_range(1_000_000..160_000_000u64);
        while !seen.insert(id) {
            id = rng.random_range(1_000_000..160_000_000u64);
        }
        // Two people keep their e-mail private; their commits use the noreply address.
        let email = if matches!(login, "liamob" | "ytanaka") {
            format!("{id}+{login}@users.noreply.github.com")
        } else {
            p.email.to_string()
        };
        out.push(GhUser {
            id,
            node_id: node_id("U_kgDO", id),
            login: login.to_string(),
            name: format!("{} {}", p.first, p.last),
            email,
            kind: "User".into(),
        });
    }
    for (login, id, name) in BOTS {
        out.push(GhUser {
            id,
            node_id: node_id("BOT_kgDO", id),
            login: login.to_string(),
            name: name.to_string(),
            email: format!("{id}+{login}@users.noreply.github.com"),
            kind: "Bot".into(),
        });
    }
    out
}

/// What `timeline` produces.
pub(super) struct Timeline {
    pub data: GithubData,
    pub incidents: Vec<IncidentSeed>,
}

#[derive(Clone, Copy, Default)]
pub(super) struct Heavy {
    pub commits: usize,
    pub reviews: usize,
    pub comments: usize,
}

/// Builds people, repositories, pull requests, deployments and releases, and the incidents that
/// production deployments cause.
pub(super) fn timeline(seed: u64, size: &super::SizeOptions, now: i64, n_projects: usize) -> Timeline {
    let mut rng = rng_for(seed, 2);
    // GitHub has whole seconds only.
    let now = floor_sec(now);
    let users = users(&mut rng);
    let who = Who {
        humans: users.len() - BOTS.len(),
    };
    let start = now - i64::from(size.days.max(1)) * DAY;
    let span = now - start;
    let n = size.repos;

    // Pull requests per repository: the first ones are busier, the archived one quiet.
    let archived_idx = if n >= 3 { Some(n - 1) } else { None };
    let weights: Vec<usize> = (0..n)
        .map(|i| match i {
            _ if Some(i) == archived_idx => 1,
            0 => 4,
            1 => 3,
            _ => 2,
        })
        .collect();
    let total_w: usize = weights.iter().sum();
    let mut counts: Vec<usize> = weights.iter().map(|w| size.prs * w / total_w.max(1)).collect();
    let mut rest = size.prs - counts.iter().sum::<usize>();
    let mut k = 0;
    while rest > 0 && n > 0 {
        if Some(k % n) != archived_idx || n == 1 {
            counts[k % n] += 1;
            rest -= 1;
        }
        k += 1;
    }

    // PRs that carry more than 100 commits / reviews / comments (pagination edge cases).
    let heavy = heavy_slots(size.prs, &counts, archived_idx);

    let mut repos = Vec::with_capacity(n);
    let mut repo_keys = Vec::with_capacity(n);
    for (i, &count) in counts.iter().enumerate() {
        let archived = Some(i) == archived_idx;
        let created = start - log_uniform(&mut rng, 30 * DAY, 1500 * DAY);
        let active_end = if archived { floor_sec(start + span * 2 / 5) } else { now };
        let mut repo = GhRepo {
            id: 0,
            node_id: String::new(),
            owner: ORG.into(),
            name: text::repo_name(i),
            default_branch: if n >= 2 && i == 1 { "master" } else { "main" }.into(),
            archived,
            private: i % 4 != 3,
            created_at: ts(floor_sec(created)),
            updated_at: ts(floor_sec(created)),
            pushed_at: ts(floor_sec(created)),
            pulls: Vec::new(),
            deployments: Vec::new(),
            releases: Vec::new(),
            workflow_runs: Vec::new(),
        };
        repo_keys.push((floor_sec(created), i));
        let mut g = PullGen {
            rng: &mut rng,
            now,
            who,
            users: &users,
        };
        let mut times: Vec<i64> = (0..count)
            .map(|_| floor_sec(work_time(g.rng, start, active_end - MIN)))
            .collect();
        times.sort_unstable();
        let mut number = 0u64;
        for (j, created) in times.into_iter().enumerate() {
            number += if number == 0 || g.rng.random_ratio(7, 8) {
                1
            } else {
                g.rng.random_range(2..=4)
            };
            let h = heavy.get(&(i, j)).copied().unwrap_or_default();
            let pr = g.pull(number, created, active_end, archived, h);
            repo.pulls.push(pr);
        }
        let last_push = repo
            .pulls
            .iter()
            .map(|p| {
                let c = p.commits.last().map_or(p.created_at, |c| c.committed_at);
                p.merged_at.map_or(c, |m| m.max(c))
            })
            .max();
        if let Some(t) = last_push {
            repo.pushed_at = repo.pushed_at.max(t);
        }
        repo.updated_at = repo.pushed_at;
        if archived {
            let at = floor_sec((active_end + log_uniform(&mut rng, DAY, 20 * DAY)).min(now));
            repo.updated_at = repo.updated_at.max(ts(at));
        }
        deploy_repo(&mut rng, &mut repo, now, who);
        repos.push(repo);
    }
    let mut seq = IdSeq::new(412_000_000);
    ids_by_time(repo_keys, &mut seq, &mut rng, |i, id| {
        repos[i].id = id;
        repos[i].node_id = node_id("R_kgDO", id);
    });

    ensure_outcomes(&mut repos);
    ensure_draft(&mut repos, who);
    for (i, repo) in repos.iter_mut().enumerate() {
        releases(&mut rng, repo, i, now, who);
    }
    let incidents = incidents(&mut rng, &repos, now, n_projects);
    let mut data = GithubData {
        org: ORG.into(),
        users,
        repos,
    };
    assign_ids(&mut rng, &mut data);
    Timeline { data, incidents }
}

/// (repo, index of the PR in the repo) → heavy counts.
fn heavy_slots(prs: usize, counts: &[usize], archived: Option<usize>) -> HashMap<(usize, usize), Heavy> {
    let mut out: HashMap<(usize, usize), Heavy> = HashMap::new();
    let active: Vec<usize> = (0..counts.len())
        .filter(|&r| Some(r) != archived && counts[r] >= 2)
        .collect();
    if prs < 3 || active.is_empty() {
        return out;
    }
    let per_kind = (prs / 5000).max(1);
    for kind in 0..3 {
        for h in 0..per_kind {
            let r = active[(h + kind) % active.len()];
            // In the older half, so that the long conversations are finished by now.
            let half = (counts[r] / 2).max(1);
            let mut j = (kind * 7 + h * 13 + 3) % half;
            while out.contains_key(&(r, j)) && out.len() < counts[r] {
                j = (j + 1) % counts[r];
            }
            let slot = out.entry((r, j)).or_default();
            match kind {
                0 => {
                    // The first one also crosses the REST limit of 250 listed commits when the
                    // dataset is big enough to afford it.
                    slot.commits = if h == 0 && prs >= 1000 { 300 } else { 120 };
                }
                1 => slot.reviews = 115,
                _ => slot.comments = 125,
            }
        }
    }
    out
}

pub(super) struct PullGen<'a> {
    pub rng: &'a mut StdRng,
    pub now: i64,
    pub who: Who,
    pub users: &'a [GhUser],
}

impl PullGen<'_> {
    /// A human, weighted: a few people open most pull requests.
    pub(super) fn human(&mut self) -> usize {
        const W: [u32; 12] = [6, 5, 5, 4, 4, 3, 3, 3, 2, 2, 2, 1];
        let n = self.who.humans.min(W.len());
        if n == 0 {
            return 0;
        }
        weighted(self.rng, &W[..n])
    }

    /// A human other than `not` (any human if there is nobody else).
    pub(super) fn other_human(&mut self, not: usize) -> usize {
        if self.who.humans < 2 {
            return 0;
        }
        loop {
            let u = self.rng.random_range(0..self.who.humans);
            if u != not {
                return u;
            }
        }
    }

    fn author(&mut self) -> usize {
        if self.rng.random_ratio(1, 10) {
            match self.rng.random_range(0..10) {
                0..6 => self.who.dependabot(),
                6..9 => self.who.renovate(),
                _ => self.who.actions(),
            }
        } else {
            self.human()
        }
    }

    /// Commits of `author` authored in `[from, to]` (whole seconds), oldest first.
    pub(super) fn commits(&mut self, author: usize, n: usize, from: i64, to: i64) -> Vec<GhCommit> {
        let mut times: Vec<i64> = (0..n)
            .map(|_| floor_sec(self.rng.random_range(from..=to.max(from))))
            .collect();
        times.sort_unstable();
        let last = times.last().copied().unwrap_or(to);
        // Rebased branches: every commit re-committed at once, still before the PR opened.
        let rebase_at = if self.rng.random_ratio(1, 7) {
            Some(floor_sec(self.rng.random_range(last..=to.max(last))))
        } else {
            None
        };
        times
            .into_iter()
            .map(|t| {
                let a = if self.who.is_bot(author) || self.rng.random_ratio(9, 10) {
                    author
                } else {
                    self.other_human(author)
                };
                // Personal e-mails that no account claims leave the commit unlinked.
                let linked = self.who.is_bot(a) || self.rng.random_ratio(6, 7);
                let mut c = GhCommit {
                    sha: sha(self.rng),
                    message: String::new(),
                    author_name: String::new(),
                    author_email: String::new(),
                    author: linked.then_some(a),
                    authored_at: ts(t),
                    committed_at: ts(rebase_at.map_or(t, |r| r.max(t))),
                };
                set_commit_identity(&mut c, self.users, a);
                c
            })
            .collect()
    }

    /// One pull request, with everything that happened to it up to `now`. Ids, texts and branch
    /// names are filled in later.
    fn pull(&mut self, number: u64, created: i64, active_end: i64, archived: bool, heavy: Heavy) -> GhPull {
        let heavy_any = heavy.commits + heavy.reviews + heavy.comments > 0;
        let author = if heavy_any { self.human() } else { self.author() };
        let bot = self.who.is_bot(author);
        let r = self.rng.random_range(0..100);
        let (merge, stale) = if heavy_any {
            (true, false)
        } else if bot {
            (r < 75, false)
        } else {
            (r < 80, r >= 93 && !archived)
        };
        let dur = if merge && bot {
            log_uniform(self.rng, 5 * MIN, 2 * DAY)
        } else if merge {
            log_uniform(self.rng, 20 * MIN, 8 * DAY)
        } else {
            log_uniform(self.rng, HOUR, 30 * DAY)
        };
        let mut end = floor_sec(created + dur);
        if archived && end > active_end {
            // Everything in an archived repository was wrapped up before it was archived.
            end = floor_sec(self.rng.random_range(created..=active_end.max(created)) + MIN);
        }
        let open = stale || end > self.now;
        let act_end = if open { self.now } else { end };

        // Commits: all pushed before the pull request was opened.
        let n_commits = if heavy.commits > 0 {
            heavy.commits + self.rng.random_range(0..20)
        } else if bot {
            1
        } else {
            (1 + poisson(self.rng, 4.2)).min(40)
        };
        let span = if heavy.commits > 0 {
            log_uniform(self.rng, 5 * DAY, 20 * DAY)
        } else {
            log_uniform(self.rng, 5 * MIN, 4 * DAY)
        };
        let commits = self.commits(author, n_commits, created - span, created - SEC);
        let head_sha = commits.last().map_or_else(|| sha(self.rng), |c| c.sha.clone());

        // Reviews, with line comments on the non-approving ones.
        let mut reviews = Vec::new();
        let mut review_comments = Vec::new();
        if act_end >= created + 2 * SEC {
            let n_reviews = if heavy.reviews > 0 {
                heavy.reviews + self.rng.random_range(0..25)
            } else if author == self.who.dependabot() || author == self.who.renovate() {
                usize::from(self.rng.random_bool(0.6))
            } else if bot {
                1
            } else {
                poisson(self.rng, 3.3)
            };
            let mut times: Vec<i64> = (0..n_reviews)
                .map(|_| floor_sec(self.rng.random_range(created + SEC..=act_end)))
                .collect();
            times.sort_unstable();
            for (k, t) in times.iter().enumerate() {
                let last = k + 1 == times.len();
                let own = !bot && self.rng.random_ratio(1, 16);
                let reviewer = if own { author } else { self.other_human(author) };
                let state = if own {
                    "COMMENTED"
                } else if (last && merge && !open) || bot {
                    "APPROVED"
                } else {
                    ["COMMENTED", "CHANGES_REQUESTED", "APPROVED", "DISMISSED"][weighted(self.rng, &[35, 20, 37, 8])]
                };
                reviews.push(self.review(reviewer, state, *t, &head_sha));
                if state != "APPROVED" {
                    let n = if heavy.reviews > 0 {
                        usize::from(self.rng.random_ratio(1, 4))
                    } else {
                        poisson(self.rng, 1.0)
                    };
                    for _ in 0..n {
                        let c = floor_sec((*t - self.rng.random_range(0..300) * SEC).max(created + SEC));
                        review_comments.push(self.review_comment(reviews.len() - 1, reviewer, c, act_end, &head_sha));
                    }
                }
            }
        }

        // Conversation comments, including bots'.
        let mut comments = Vec::new();
        if act_end >= created + 2 * SEC {
            let n = if heavy.comments > 0 {
                heavy.comments + self.rng.random_range(0..20)
            } else if bot {
                usize::from(self.rng.random_ratio(1, 5))
            } else {
                poisson(self.rng, 3.9)
            };
            for _ in 0..n {
                let t = floor_sec(self.rng.random_range(created + SEC..=act_end));
                let who = match self.rng.random_range(0..100) {
                    0..70 => self.other_human(author),
                    70..95 => author,
                    _ => self.who.actions(),
                };
                comments.push(self.comment(who, t, act_end, None));
            }
            if !bot && self.rng.random_ratio(1, 3) {
                let t = created + self.rng.random_range(60..600) * SEC;
                if t <= act_end {
                    let body = format!("🚀 Preview deployed to https://pr-{number}.preview.acme.dev");
                    comments.push(self.comment(self.who.actions(), t, act_end, Some(body)));
                }
            }
            comments.sort_by_key(|c| c.created_at);
        }

        let closed_at = (!open).then(|| ts(end));
        let mut updated = created;
        for r in &reviews {
            updated = updated.max(ms_of(r.submitted_at));
        }
        for c in &comments {
            updated = updated.max(ms_of(c.updated_at));
        }
        for c in &review_comments {
            updated = updated.max(ms_of(c.updated_at));
        }
        if !open {
            updated = updated.max(end);
        }
        let (additions, deletions, changed_files) = if bot {
            let a = self.rng.random_range(1..400);
            let d = self.rng.random_range(1..400);
            (a, d, self.rng.random_range(1..=3))
        } else {
            let a = log_uniform(self.rng, 1, 3000) as u64;
            let d = log_uniform(self.rng, 1, 1500) as u64 - 1;
            let f = (log_uniform(self.rng, 1, 80) as u64).min(a + d).max(1);
            (a, d, f)
        };
        GhPull {
            number,
            id: 0,
            node_id: String::new(),
            title: String::new(),
            body: String::new(),
            author,
            state: if open { "open" } else { "closed" }.into(),
            draft: open && !bot && self.rng.random_ratio(2, 5),
            created_at: ts(created),
            updated_at: ts(updated),
            closed_at,
            merged_at: (merge && !open).then(|| ts(end)),
            base_ref: String::new(),
            head_ref: String::new(),
            head_sha,
            merge_commit_sha: (merge && !open).then(|| sha(self.rng)),
            additions,
            deletions,
            changed_files,
            commits,
            reviews,
            comments,
            review_comments,
        }
    }

    pub(super) fn review(&mut self, author: usize, state: &str, t: i64, head: &str) -> GhReview {
        GhReview {
            id: 0,
            node_id: String::new(),
            author,
            state: state.into(),
            body: text::review_body(self.rng, state),
            submitted_at: ts(t),
            commit_sha: head.to_string(),
        }
    }

    /// `review` is the index of the review in the pull request (replaced by its id later).
    pub(super) fn review_comment(
        &mut self,
        review: usize,
        author: usize,
        t: i64,
        until: i64,
        head: &str,
    ) -> GhReviewComment {
        let updated = if self.rng.random_ratio(1, 10) && until > t {
            floor_sec((t + log_uniform(self.rng, MIN, DAY)).min(until))
        } else {
            t
        };
        GhReviewComment {
            id: 0,
            node_id: String::new(),
            review_id: review as u64,
            author,
            body: text::pick_str(self.rng, &text::REVIEW_COMMENTS).to_string(),
            path: text::pick_str(self.rng, &text::PATHS).to_string(),
            commit_sha: head.to_string(),
            created_at: ts(t),
            updated_at: ts(updated),
        }
    }

    pub(super) fn comment(&mut self, author: usize, t: i64, until: i64, body: Option<String>) -> GhComment {
        let updated = if self.rng.random_ratio(1, 8) && until > t {
            floor_sec((t + log_uniform(self.rng, MIN, DAY)).min(until))
        } else {
            t
        };
        let body = body.unwrap_or_else(|| {
            if author == self.who.actions() {
                format!(
                    "Coverage report: {}.{}% ({}{}.{}%)",
                    self.rng.random_range(60..95),
                    self.rng.random_range(0..10),
                    if self.rng.random_bool(0.5) { "+" } else { "-" },
                    self.rng.random_range(0..2),
                    self.rng.random_range(0..10)
                )
            } else {
                text::pick_str(self.rng, &text::COMMENTS).to_string()
            }
        });
        GhComment {
            id: 0,
            node_id: String::new(),
            author,
            body,
            created_at: ts(t),
            updated_at: ts(updated),
        }
    }
}

/// Commit author name/e-mail: the account's for linked commits, a laptop address otherwise.
pub(super) fn set_commit_identity(c: &mut GhCommit, users: &[GhUser], fallback: usize) {
    match c.author.and_then(|a| users.get(a)) {
        Some(u) => {
            c.author_name = if u.kind == "Bot" {
                u.login.clone()
            } else {
                u.name.clone()
            };
            c.author_email = u.email.clone();
        }
        None => {
            let u = users.get(fallback);
            c.author_name = u.map_or_else(|| "Unknown".into(), |u| u.name.clone());
            let login = u.map_or("dev", |u| u.login.as_str());
            c.author_email = format!("{login}@laptop.local");
        }
    }
}

/// Deployment status sequence: queued → in_progress → outcome (only what happened by `now`).
pub(super) fn deployment_statuses(rng: &mut StdRng, created: i64, outcome: &str, now: i64) -> Vec<GhDeploymentStatus> {
    let t1 = created;
    let t2 = t1 + rng.random_range(5..60) * SEC;
    let t3 = t2 + floor_sec(log_uniform(rng, MIN, 15 * MIN));
    let description = match outcome {
        "success" => "Deployment finished successfully.",
        "failure" => "Deployment failed: health check timed out",
        _ => "Deployment errored: runner lost communication",
    };
    [
        (t1, "queued", "Deployment queued"),
        (t2, "in_progress", "Deployment started"),
        (t3, outcome, description),
    ]
    .into_iter()
    .filter(|(t, _, _)| *t <= now)
    .map(|(t, state, description)| GhDeploymentStatus {
        id: 0,
        node_id: String::new(),
        state: state.into(),
        description: description.into(),
        created_at: ts(t),
    })
    .collect()
}

pub(super) fn deployment(
    rng: &mut StdRng,
    env: &str,
    sha: &str,
    r#ref: &str,
    created: i64,
    now: i64,
    who: Who,
) -> GhDeployment {
    let outcome = if env == "production" {
        ["success", "failure", "error"][weighted(rng, &[86, 12, 2])]
    } else {
        ["success", "failure", "error"][weighted(rng, &[94, 5, 1])]
    };
    let statuses = deployment_statuses(rng, created, outcome, now);
    let updated = statuses.last().map_or(ts(created), |s| s.created_at);
    GhDeployment {
        id: 0,
        node_id: String::new(),
        sha: sha.to_string(),
        r#ref: r#ref.to_string(),
        task: "deploy".into(),
        environment: env.into(),
        creator: if rng.random_ratio(4, 5) || who.humans == 0 {
            who.actions()
        } else {
            rng.random_range(0..who.humans)
        },
        created_at: ts(created),
        updated_at: updated,
        statuses,
    }
}

pub(super) fn is_final(state: &str) -> bool {
    matches!(state, "success" | "failure" | "error")
}

/// Deploy trains: a few merges are staged, then promoted to production.
fn deploy_repo(rng: &mut StdRng, repo: &mut GhRepo, now: i64, who: Who) {
    let mut merged: Vec<(i64, usize)> = repo
        .pulls
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.merged_at.map(|m| (ms_of(m), i)))
        .collect();
    merged.sort_unstable();
    let mut deployments = Vec::new();
    let mut ready_at = i64::MIN;
    let mut i = 0;
    while i < merged.len() {
        let mut j = i;
        while j + 1 < merged.len() && merged[j + 1].0 - merged[i].0 < 3 * DAY && rng.random_bool(0.65) {
            j += 1;
        }
        let staged = floor_sec((merged[j].0 + log_uniform(rng, 5 * MIN, 4 * HOUR)).max(ready_at));
        if staged > now {
            break;
        }
        while j + 1 < merged.len() && merged[j + 1].0 <= staged {
            j += 1;
        }
        let sha = repo.pulls[merged[j].1].merge_commit_sha.clone().unwrap_or_default();
        let staging = deployment(rng, "staging", &sha, &repo.default_branch, staged, now, who);
        let staging_end = staging
            .statuses
            .last()
            .map(|s| (ms_of(s.created_at), s.state == "success"));
        deployments.push(staging);
        i = j + 1;
        match staging_end {
            Some((end, true)) => {
                let promoted = floor_sec(end + log_uniform(rng, 10 * MIN, DAY));
                if promoted > now {
                    break;
                }
                let prod = deployment(rng, "production", &sha, &repo.default_branch, promoted, now, who);
                ready_at = ms_of(prod.updated_at) + 5 * MIN;
                deployments.push(prod);
            }
            Some((end, false)) => ready_at = end + 5 * MIN,
            None => break,
        }
    }
    repo.deployments = deployments;
}

/// Change-failure rate needs both outcomes in production: if chance gave only one, flip one.
fn ensure_outcomes(repos: &mut [GhRepo]) {
    let finals = |repos: &[GhRepo], want: &str| {
        repos.iter().any(|r| {
            r.deployments
                .iter()
                .any(|d| d.environment == "production" && d.statuses.last().is_some_and(|s| s.state == want))
        })
    };
    for (want, from) in [("failure", "success"), ("success", "failure")] {
        if finals(repos, want) {
            continue;
        }
        let candidates: Vec<(usize, usize)> = repos
            .iter()
            .enumerate()
            .flat_map(|(r, repo)| {
                repo.deployments
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| {
                        d.environment == "production" && d.statuses.last().is_some_and(|s| s.state == from)
                    })
                    .map(move |(k, _)| (r, k))
            })
            .collect();
        if candidates.len() < 2 {
            continue;
        }
        let (r, k) = candidates[candidates.len() / 2];
        if let Some(s) = repos[r].deployments[k].statuses.last_mut() {
            s.state = want.into();
            s.description = if want == "failure" {
                "Deployment failed: health check timed out".into()
            } else {
                "Deployment finished successfully.".into()
            };
        }
    }
}

/// At least one draft pull request (the most recent open one by a human), if any is open.
fn ensure_draft(repos: &mut [GhRepo], who: Who) {
    let pulls = || repos.iter().flat_map(|r| &r.pulls);
    if pulls().any(|p| p.draft) {
        return;
    }
    let latest = pulls()
        .filter(|p| p.state == "open" && !who.is_bot(p.author))
        .map(|p| p.created_at)
        .max();
    if let Some(t) = latest
        && let Some(p) = repos
            .iter_mut()
            .flat_map(|r| r.pulls.iter_mut())
            .find(|p| p.state == "open" && p.created_at == t && !who.is_bot(p.author))
    {
        p.draft = true;
    }
}

/// Releases follow some successful production deployments; a few are release candidates or
/// drafts.
fn releases(rng: &mut StdRng, repo: &mut GhRepo, idx: usize, now: i64, who: Who) {
    let mut version = (1u32, (idx % 5) as u32, 0u32);
    let mut last = ms_of(repo.created_at);
    let mut out = Vec::new();
    let author = |rng: &mut StdRng| {
        if rng.random_bool(0.5) || who.humans == 0 {
            who.actions()
        } else {
            rng.random_range(0..who.humans)
        }
    };
    for d in &repo.deployments {
        let Some(s) = d.statuses.last() else { continue };
        if d.environment != "production" || s.state != "success" || !rng.random_bool(0.3) {
            continue;
        }
        let done = ms_of(s.created_at);
        version = bump(rng, version);
        let tag = format!("v{}.{}.{}", version.0, version.1, version.2);
        // Release candidates first, now and then (always for the first release of the first repo).
        if rng.random_ratio(1, 6) || (idx == 0 && out.is_empty()) {
            let rc = floor_sec(done - log_uniform(rng, HOUR, 6 * HOUR));
            if rc > last {
                out.push(release(
                    format!("{tag}-rc.1"),
                    &repo.default_branch,
                    false,
                    true,
                    author(rng),
                    rc,
                    Some(rc),
                ));
                last = rc;
            }
        }
        let at = floor_sec(done + rng.random_range(60..1800) * SEC);
        if at > now || at <= last {
            continue;
        }
        let published = (at + rng.random_range(0..60) * SEC).min(floor_sec(now));
        out.push(release(
            tag,
            &repo.default_branch,
            false,
            false,
            author(rng),
            at,
            Some(published),
        ));
        last = published;
    }
    // The next release being drafted (always in the first repo).
    if !repo.archived && (idx == 0 || rng.random_ratio(1, 3)) && floor_sec(now) > last + SEC {
        version = bump(rng, version);
        let at = floor_sec(rng.random_range(last + SEC..=now));
        out.push(release(
            format!("v{}.{}.{}", version.0, version.1, version.2),
            &repo.default_branch,
            true,
            false,
            author(rng),
            at,
            None,
        ));
    }
    repo.releases = out;
}

fn bump(rng: &mut StdRng, (ma, mi, pa): (u32, u32, u32)) -> (u32, u32, u32) {
    match weighted(rng, &[70, 27, 3]) {
        0 => (ma, mi, pa + 1),
        1 => (ma, mi + 1, 0),
        _ => (ma + 1, 0, 0),
    }
}

fn release(
    tag: String,
    target: &str,
    draft: bool,
    prerelease: bool,
    author: usize,
    created: i64,
    published: Option<i64>,
) -> GhRelease {
    GhRelease {
        id: 0,
        node_id: String::new(),
        name: tag.clone(),
        tag_name: tag,
        target_commitish: target.to_string(),
        draft,
        prerelease,
        author,
        created_at: ts(created),
        published_at: published.map(ts),
    }
}

/// Incidents opened minutes to hours after production deployments (mostly failed ones).
fn incidents(rng: &mut StdRng, repos: &[GhRepo], now: i64, n_projects: usize) -> Vec<IncidentSeed> {
    let mut out = Vec::new();
    let mut first_failure: Option<(usize, &GhDeployment)> = None;
    let mut first_any: Option<(usize, &GhDeployment)> = None;
    let mut covered = false;
    for (r, repo) in repos.iter().enumerate() {
        for d in &repo.deployments {
            let Some(s) = d.statuses.last() else { continue };
            if d.environment != "production" || !is_final(&s.state) {
                continue;
            }
            first_any = first_any.or(Some((r, d)));
            if s.state == "failure" {
                first_failure = first_failure.or(Some((r, d)));
            }
            let p = match s.state.as_str() {
                "failure" => 0.75,
                "error" => 0.5,
                _ => 0.03,
            };
            if rng.random_bool(p)
                && let Some(seed) = incident_seed(rng, repos, r, d, now, n_projects)
            {
                covered |= s.state == "failure";
                out.push(seed);
            }
        }
    }
    // Change-failure rate needs at least one failed deployment that caused an incident.
    if !covered
        && let Some((r, d)) = first_failure.or(first_any)
        && let Some(seed) = incident_seed(rng, repos, r, d, now, n_projects)
    {
        out.push(seed);
    }
    // At least two, so that one can still be open while another is resolved.
    for (r, d) in [first_any, first_failure].into_iter().flatten() {
        if out.len() >= 2 {
            break;
        }
        if let Some(seed) = incident_seed(rng, repos, r, d, now, n_projects) {
            out.push(seed);
        }
    }
    out.sort_by_key(|s| s.created);
    out
}

pub(super) fn incident_seed(
    rng: &mut StdRng,
    repos: &[GhRepo],
    r: usize,
    d: &GhDeployment,
    now: i64,
    n_projects: usize,
) -> Option<IncidentSeed> {
    let base = d.statuses.last().map_or(ms_of(d.created_at), |s| ms_of(s.created_at));
    let mut created = base + log_uniform(rng, 3 * MIN, 4 * HOUR) + rng.random_range(0..1000);
    if created > now {
        created = now;
    }
    if created <= base || n_projects == 0 {
        return None;
    }
    Some(IncidentSeed {
        created,
        project: r % n_projects,
        summary: text::incident_summary(rng, &repos[r].name, &d.sha),
    })
}

/// Ids for everything, growing with time across the organisation like GitHub's.
fn assign_ids(rng: &mut StdRng, data: &mut GithubData) {
    let repos = &mut data.repos;
    let mut keys = Vec::new();
    for (r, repo) in repos.iter().enumerate() {
        for (p, pr) in repo.pulls.iter().enumerate() {
            keys.push((ms_of(pr.created_at), (r, p, 0)));
        }
    }
    ids_by_time(keys, &mut IdSeq::new(1_100_000_000), rng, |(r, p, _), id| {
        let pr = &mut repos[r].pulls[p];
        pr.id = id;
        pr.node_id = node_id("PR_kwDO", id);
    });

    let mut keys = Vec::new();
    for (r, repo) in repos.iter().enumerate() {
        for (p, pr) in repo.pulls.iter().enumerate() {
            for (k, x) in pr.reviews.iter().enumerate() {
                keys.push((ms_of(x.submitted_at), (r, p, k)));
            }
        }
    }
    ids_by_time(keys, &mut IdSeq::new(1_500_000_000), rng, |(r, p, k), id| {
        let x = &mut repos[r].pulls[p].reviews[k];
        x.id = id;
        x.node_id = node_id("PRR_kwDO", id);
    });

    let mut keys = Vec::new();
    for (r, repo) in repos.iter().enumerate() {
        for (p, pr) in repo.pulls.iter().enumerate() {
            for (k, x) in pr.comments.iter().enumerate() {
                keys.push((ms_of(x.created_at), (r, p, k)));
            }
        }
    }
    ids_by_time(keys, &mut IdSeq::new(1_800_000_000), rng, |(r, p, k), id| {
        let x = &mut repos[r].pulls[p].comments[k];
        x.id = id;
        x.node_id = node_id("IC_kwDO", id);
    });

    let mut keys = Vec::new();
    for (r, repo) in repos.iter().enumerate() {
        for (p, pr) in repo.pulls.iter().enumerate() {
            for (k, x) in pr.review_comments.iter().enumerate() {
                keys.push((ms_of(x.created_at), (r, p, k)));
            }
        }
    }
    ids_by_time(keys, &mut IdSeq::new(1_300_000_000), rng, |(r, p, k), id| {
        let pr = &mut repos[r].pulls[p];
        // `review_id` held the index of the review until now.
        let review = pr.review_comments[k].review_id as usize;
        let review_id = pr.reviews.get(review).map_or(0, |x| x.id);
        let x = &mut pr.review_comments[k];
        x.id = id;
        x.node_id = node_id("PRRC_kwDO", id);
        x.review_id = review_id;
    });

    let mut keys = Vec::new();
    for (r, repo) in repos.iter().enumerate() {
        for (k, d) in repo.deployments.iter().enumerate() {
            keys.push((ms_of(d.created_at), (r, k, 0)));
        }
    }
    ids_by_time(keys, &mut IdSeq::new(2_000_000_000), rng, |(r, k, _), id| {
        let d = &mut repos[r].deployments[k];
        d.id = id;
        d.node_id = node_id("DE_kwDO", id);
    });

    let mut keys = Vec::new();
    for (r, repo) in repos.iter().enumerate() {
        for (k, d) in repo.deployments.iter().enumerate() {
            for (s, x) in d.statuses.iter().enumerate() {
                keys.push((ms_of(x.created_at), (r, k, s)));
            }
        }
    }
    ids_by_time(keys, &mut IdSeq::new(4_000_000_000), rng, |(r, k, s), id| {
        let x = &mut repos[r].deployments[k].statuses[s];
        x.id = id;
        x.node_id = node_id("DES_kwDO", id);
    });

    let mut keys = Vec::new();
    for (r, repo) in repos.iter().enumerate() {
        for (k, x) in repo.releases.iter().enumerate() {
            keys.push((ms_of(x.created_at), (r, k, 0)));
        }
    }
    ids_by_time(keys, &mut IdSeq::new(150_000_000), rng, |(r, k, _), id| {
        let x = &mut repos[r].releases[k];
        x.id = id;
        x.node_id = node_id("RE_kwDO", id);
    });
}

/// Second pass: titles, bodies, branch names and commit messages (many mention Jira issues that
/// were open when the work happened), and the workflow runs.
pub(super) fn finish(seed: u64, data: &mut GithubData, jira: &JiraData, now: i64) {
    let mut rng = rng_for(seed, 3);
    let who = who(&data.users);
    let refs = JiraRefs::new(jira);
    let users = data.users.clone();
    for (r, repo) in data.repos.iter_mut().enumerate() {
        let base = repo.default_branch.clone();
        for pr in &mut repo.pulls {
            pr.base_ref = base.clone();
            let issue = refs.pick(&mut rng, r, ms_of(pr.created_at));
            write_pull_texts(&mut rng, pr, &users, who, &base, issue);
        }
    }
    runs(&mut rng, data, now, who);
}

/// Jira issues that pull requests can mention: per project, by creation time.
pub(super) struct JiraRefs<'a> {
    by_project: Vec<Vec<(i64, &'a str, &'a str, Kind)>>,
}

impl<'a> JiraRefs<'a> {
    pub(super) fn new(jira: &'a JiraData) -> Self {
        let index: HashMap<&str, usize> = jira
            .projects
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.as_str(), i))
            .collect();
        let mut by_project = vec![Vec::new(); jira.projects.len()];
        for issue in &jira.issues {
            let kind = kind_of_type(&issue.issue_type_id);
            if matches!(kind, Kind::Epic | Kind::Incident) {
                continue;
            }
            if let Some(&p) = index.get(issue.project_id.as_str()) {
                by_project[p].push((ms_of(issue.created), issue.key.as_str(), issue.summary.as_str(), kind));
            }
        }
        for v in &mut by_project {
            v.sort_by_key(|x| x.0);
        }
        Self { by_project }
    }

    /// Usually an issue of the repository's project created shortly before `t`.
    pub(super) fn pick(&self, rng: &mut StdRng, repo: usize, t: i64) -> Option<IssueRef> {
        if self.by_project.is_empty() || !rng.random_bool(0.78) {
            return None;
        }
        let list = &self.by_project[repo % self.by_project.len()];
        let end = list.partition_point(|x| x.0 <= t);
        if end == 0 {
            return None;
        }
        let (_, key, summary, kind) = list[rng.random_range(end.saturating_sub(40)..end)];
        Some(IssueRef {
            key: key.to_string(),
            summary: summary.to_string(),
            kind,
        })
    }
}

pub(super) struct IssueRef {
    pub key: String,
    pub summary: String,
    pub kind: Kind,
}

/// Title, body, branch and commit messages of a pull request.
pub(super) fn write_pull_texts(
    rng: &mut StdRng,
    pr: &mut GhPull,
    users: &[GhUser],
    who: Who,
    base: &str,
    issue: Option<IssueRef>,
) {
    let n = pr.number;
    if pr.author == who.dependabot() || pr.author == who.renovate() {
        let (eco, pkg, mm) = text::BUMPS[rng.random_range(0..text::BUMPS.len())];
        let patch = rng.random_range(0..30);
        let (from, to) = (
            format!("{mm}.{patch}"),
            format!("{mm}.{}", patch + 1 + rng.random_range(0..3)),
        );
        if pr.author == who.dependabot() {
            pr.title = format!("Bump {pkg} from {from} to {to}");
            pr.head_ref = format!("dependabot/{eco}/{pkg}-{to}");
            pr.body = format!(
                "Bumps [{pkg}](https://github.com/{pkg}) from {from} to {to}.\n\n\
                 Dependabot will resolve any conflicts with this PR as long as you don't alter it yourself. \
                 You can also trigger a rebase manually by commenting `@dependabot rebase`."
            );
        } else {
            let major = mm.split('.').next().unwrap_or(mm);
            pr.title = format!("chore(deps): update dependency {pkg} to v{to}");
            pr.head_ref = format!("renovate/{}-{major}.x", text::slug(pkg, 4));
            pr.body = format!(
                "This PR contains the following updates:\n\n| Package | Change |\n|---|---|\n| {pkg} | `{from}` -> `{to}` |"
            );
        }
        let title = pr.title.clone();
        for c in &mut pr.commits {
            c.message = format!("{title}\n\nSigned-off-by: {}", who_name(users, pr.author));
        }
        return;
    }
    if pr.author == who.actions() {
        let v = format!("1.{}.{}", n % 17, rng.random_range(0..10));
        pr.title = format!("chore({base}): release {v}");
        pr.head_ref = format!("release-please--branches--{base}");
        pr.body = format!(":robot: I have created a release *beep* *boop*\n\n## {v}\n\n### Bug Fixes\n\n* minor fixes");
        let title = pr.title.clone();
        for c in &mut pr.commits {
            c.message.clone_from(&title);
        }
        return;
    }
    match issue {
        Some(issue) => {
            let key = &issue.key;
            let summary = &issue.summary;
            pr.title = match rng.random_range(0..10) {
                0..6 => format!("{key}: {summary}"),
                6..8 => format!("[{key}] {summary}"),
                8 => format!("{summary} ({key})"),
                _ => format!("{key} {summary}"),
            };
            let prefix = match issue.kind {
                Kind::Bug => "fix",
                Kind::Task => "chore",
                _ => "feature",
            };
            pr.head_ref = if rng.random_ratio(6, 7) {
                format!("{prefix}/{key}-{}", text::slug(summary, 5))
            } else {
                format!("{prefix}/{}", text::slug(summary, 5))
            };
            pr.body = if rng.random_bool(0.5) {
                format!("Closes {key}\n\n## Summary\n{summary}\n\n## Testing\n- [x] unit tests\n- [ ] e2e")
            } else {
                format!(
                    "Relates to [{key}](https://acme.atlassian.net/browse/{key}).\n\nSee the ticket for context & screenshots."
                )
            };
            let head = pr.head_ref.clone();
            for (k, c) in pr.commits.iter_mut().enumerate() {
                c.message = if k == 0 {
                    format!("{key}: {summary}")
                } else if rng.random_ratio(1, 4) {
                    format!("{key} {}", text::pick_str(rng, &text::COMMIT_MESSAGES).to_lowercase())
                } else if rng.random_ratio(1, 15) {
                    format!("Merge branch '{base}' into {head}")
                } else {
                    text::pick_str(rng, &text::COMMIT_MESSAGES).to_string()
                };
            }
        }
        None => {
            let title = text::pick_str(rng, &text::PR_TITLES_NO_KEY);
            pr.title = title.to_string();
            pr.head_ref = format!(
                "{}/{}",
                text::pick_str(rng, &["chore", "fix", "feature", "refactor", "docs"]),
                text::slug(title, 5)
            );
            pr.body = if rng.random_ratio(1, 5) {
                String::new()
            } else {
                format!("{title}.\n\nNo ticket: small maintenance change.")
            };
            for (k, c) in pr.commits.iter_mut().enumerate() {
                c.message = if k == 0 {
                    title.to_string()
                } else {
                    text::pick_str(rng, &text::COMMIT_MESSAGES).to_string()
                };
            }
        }
    }
    // Commits in heavy PRs are mostly small steps.
    if pr.commits.len() > 100 {
        for (k, c) in pr.commits.iter_mut().enumerate().skip(1) {
            if k % 3 == 0 {
                c.message = format!("wip {k}");
            }
        }
    }
}

fn who_name(users: &[GhUser], u: usize) -> String {
    users
        .get(u)
        .map_or_else(String::new, |u| format!("{} <{}>", u.login, u.email))
}

/// CI runs for pull requests and `Deploy production` runs for production deployments.
fn runs(rng: &mut StdRng, data: &mut GithubData, now: i64, who: Who) {
    for (r, repo) in data.repos.iter_mut().enumerate() {
        let mut out = Vec::with_capacity(repo.pulls.len() + repo.deployments.len() / 2);
        for pr in &repo.pulls {
            if let Some(run) = ci_run(rng, r, pr, ms_of(pr.created_at), now) {
                out.push(run);
            }
        }
        for d in &repo.deployments {
            if d.environment == "production" {
                out.push(deploy_run(rng, r, d, &repo.default_branch, who));
            }
        }
        out.sort_by_key(|x| (x.created_at, x.workflow_id));
        number_runs(&mut out, 0, 0);
        repo.workflow_runs = out;
    }
    let repos = &mut data.repos;
    let mut keys = Vec::new();
    for (r, repo) in repos.iter().enumerate() {
        for (k, x) in repo.workflow_runs.iter().enumerate() {
            keys.push((ms_of(x.created_at), (r, k)));
        }
    }
    ids_by_time(keys, &mut IdSeq::new(6_000_000_000), rng, |(r, k), id| {
        let x = &mut repos[r].workflow_runs[k];
        x.id = id;
        x.node_id = node_id("WFR_kwLO", id);
    });
}

/// Numbers runs per workflow, continuing after the given last numbers.
pub(super) fn number_runs(runs: &mut [GhRun], mut ci: u64, mut deploy: u64) {
    for x in runs.iter_mut().filter(|x| x.run_number == 0) {
        if x.name == CI_WORKFLOW {
            ci += 1;
            x.run_number = ci;
        } else {
            deploy += 1;
            x.run_number = deploy;
        }
    }
}

/// The CI run triggered by opening a pull request (or pushing to it) at `at`.
pub(super) fn ci_run(rng: &mut StdRng, repo: usize, pr: &GhPull, at: i64, now: i64) -> Option<GhRun> {
    let created = at + rng.random_range(5..60) * SEC;
    if created > now {
        return None;
    }
    let started = (created + rng.random_range(2..20) * SEC).min(floor_sec(now));
    let mut end = started + floor_sec(log_uniform(rng, 2 * MIN, 20 * MIN));
    let mut conclusion = ["success", "failure", "cancelled"][weighted(rng, &[86, 11, 3])];
    let mut attempt = 1;
    if conclusion == "failure" && rng.random_ratio(1, 3) {
        // Re-run after a flaky failure.
        attempt = 2;
        end += floor_sec(log_uniform(rng, 5 * MIN, HOUR));
        conclusion = "success";
    }
    let done = end <= now;
    Some(GhRun {
        id: 0,
        node_id: String::new(),
        name: CI_WORKFLOW.into(),
        workflow_id: ci_workflow_id(repo),
        head_branch: pr.head_ref.clone(),
        head_sha: pr.head_sha.clone(),
        event: "pull_request".into(),
        status: if done { "completed" } else { "in_progress" }.into(),
        conclusion: done.then(|| conclusion.to_string()),
        run_number: 0,
        run_attempt: attempt,
        actor: pr.author,
        created_at: ts(created),
        updated_at: ts(if done { end } else { started }),
        run_started_at: ts(started),
    })
}

/// The workflow run that created a production deployment; it ends with the deployment.
pub(super) fn deploy_run(rng: &mut StdRng, repo: usize, d: &GhDeployment, branch: &str, who: Who) -> GhRun {
    let dep = ms_of(d.created_at);
    let created = dep - rng.random_range(10..90) * SEC;
    let started = (created + rng.random_range(2..10) * SEC).min(dep);
    let last = d.statuses.last();
    let done = last.is_some_and(|s| is_final(&s.state));
    let conclusion = last.map(|s| if s.state == "success" { "success" } else { "failure" });
    GhRun {
        id: 0,
        node_id: String::new(),
        name: DEPLOY_WORKFLOW.into(),
        workflow_id: deploy_workflow_id(repo),
        head_branch: branch.to_string(),
        head_sha: d.sha.clone(),
        event: if rng.random_ratio(1, 10) {
            "workflow_dispatch"
        } else {
            "push"
        }
        .into(),
        status: if done { "completed" } else { "in_progress" }.into(),
        conclusion: if done { conclusion.map(str::to_string) } else { None },
        run_number: 0,
        run_attempt: 1,
        actor: if who.is_bot(d.creator) {
            who.actions()
        } else {
            d.creator
        },
        created_at: ts(created),
        updated_at: last.map_or(d.created_at, |s| s.created_at),
        run_started_at: ts(started),
    }
}
