//! `advance`: what the teams do in a window of simulated time `(old now, new now]`.
//!
//! The amount of work is proportional to the dataset (its rate of issues, status changes and
//! pull requests per minute so far), with a floor so that an hour always shows some change.
//! Existing items only ever gain entries; every new or changed timestamp is inside the window.

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use rand::Rng;
use rand::rngs::StdRng;

use super::AdvanceSummary;
use super::github::{
    self, CI_WORKFLOW, DEPLOY_WORKFLOW, IssueRef, JiraRefs, PullGen, Who, ci_run, deploy_run, deployment,
    incident_seed, is_final, write_pull_texts,
};
use super::jira::{self, IncidentSeed, Kind, Life, flavour_of, project_weights_for, state_of, store_state};
use super::util::{
    DAY, HOUR, IdSeq, MIN, SEC, floor_sec, ids_by_time, log_uniform, mix, ms_of, node_id, poisson, rng_for,
    round_random, sha, ts, weighted,
};
use crate::model::{Dataset, GhDeploymentStatus, GhPull, GhRelease, GhRun, GithubData, JiraData, cmp_numeric};

/// More than this many events in one call would only make the call slow.
const MAX_EVENTS: usize = 200_000;

pub(super) fn advance(data: &mut Dataset, seed: u64, minutes: u32) -> AdvanceSummary {
    let old = ms_of(data.now);
    data.now += Duration::minutes(i64::from(minutes));
    let new = ms_of(data.now);
    let mut summary = AdvanceSummary::default();
    if minutes == 0 {
        return summary;
    }
    let mut rng = rng_for(seed ^ mix(old as u64), 4);
    let window = (old, new);
    let incidents = advance_github(&mut rng, &mut data.github, &data.jira, window, minutes, &mut summary);
    advance_jira(&mut rng, &mut data.jira, window, minutes, incidents, &mut summary);
    summary
}

/// Expected count of something that happened `count` times over `span` ms, for `window` ms.
fn expected(count: usize, span: i64, window: i64) -> f64 {
    if span <= 0 {
        return 0.0;
    }
    count as f64 * window as f64 / span as f64
}

// ---------------------------------------------------------------------------------------------
// Jira

fn advance_jira(
    rng: &mut StdRng,
    j: &mut JiraData,
    (old, new): (i64, i64),
    minutes: u32,
    incidents: Vec<IncidentSeed>,
    summary: &mut AdvanceSummary,
) {
    let n_projects = j.projects.len();
    if n_projects == 0 || j.users.is_empty() {
        return;
    }
    let users = j.users.clone();
    let project_index: HashMap<String, usize> = j.projects.iter().enumerate().map(|(i, p)| (p.id.clone(), i)).collect();
    let done: HashSet<String> = j
        .statuses
        .iter()
        .filter(|s| s.category_key == "done")
        .map(|s| s.id.clone())
        .collect();

    // Rates so far.
    let first = j.issues.iter().map(|i| ms_of(i.created)).min().unwrap_or(old);
    let span = (old - first).max(DAY);
    let histories: usize = j.issues.iter().map(|i| i.changelog.len()).sum();
    let win = new - old;
    let mut n_new = round_random(rng, expected(j.issues.len(), span, win));
    let mut n_upd = round_random(rng, expected(histories, span, win));
    if minutes >= 60 {
        n_new = n_new.max(1);
        n_upd = n_upd.max(3);
    }
    n_new = n_new.min(MAX_EVENTS / 4);
    n_upd = n_upd.min(MAX_EVENTS);

    // Next ids and keys.
    let max_id = j
        .issues
        .iter()
        .map(|i| i.id.as_str())
        .max_by(|a, b| cmp_numeric(a, b))
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(9_999);
    let mut ids = IdSeq::new(max_id + 1);
    let mut key_numbers = vec![0u64; n_projects];
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); n_projects];
    let mut epics: Vec<Vec<usize>> = vec![Vec::new(); n_projects];
    let mut open: Vec<usize> = Vec::new();
    let mut max_history = 99_999u64;
    for (idx, i) in j.issues.iter().enumerate() {
        let Some(&p) = project_index.get(&i.project_id) else {
            continue;
        };
        if let Some(n) = i.key.rsplit('-').next().and_then(|n| n.parse::<u64>().ok()) {
            key_numbers[p] = key_numbers[p].max(n);
        }
        match jira::kind_of_type(&i.issue_type_id) {
            Kind::Story | Kind::Task | Kind::Bug => parents[p].push(idx),
            Kind::Epic => epics[p].push(idx),
            _ => {}
        }
        if !done.contains(&i.status_id) {
            open.push(idx);
        }
        for h in &i.changelog {
            if let Ok(id) = h.id.parse::<u64>() {
                max_history = max_history.max(id);
            }
        }
    }
    let created_before = j.issues.len();

    // Events in time order: new issues (incidents included) and updates of open issues.
    enum Ev {
        New(Option<IncidentSeed>),
        Update,
    }
    let mut events: Vec<(i64, Ev)> = Vec::with_capacity(n_new + n_upd + incidents.len());
    for _ in 0..n_new {
        events.push((rng.random_range(old + 1..=new), Ev::New(None)));
    }
    for s in incidents {
        if s.created > old && s.created <= new {
            events.push((s.created, Ev::New(Some(s))));
        }
    }
    for _ in 0..n_upd {
        events.push((rng.random_range(old + 1..=new), Ev::Update));
    }
    events.sort_by_key(|e| e.0);

    let weights = project_weights_for(n_projects);
    let mut touched: HashSet<usize> = HashSet::new();
    let mut life = Life {
        rng,
        now: new,
        users: &users,
    };
    for (t, ev) in events {
        match ev {
            Ev::New(seed) => {
                let (kind, project, summary_text) = match seed {
                    Some(s) => (Kind::Incident, s.project.min(n_projects - 1), s.summary),
                    None => {
                        let kind = [Kind::Story, Kind::Bug, Kind::Task, Kind::SubTask, Kind::Epic]
                            [weighted(life.rng, &[38, 24, 22, 14, 2])];
                        (kind, weighted(life.rng, &weights), String::new())
                    }
                };
                let mut kind = kind;
                let mut parent = None;
                match kind {
                    Kind::SubTask => match recent(life.rng, &parents[project], 30) {
                        Some(p) => parent = Some(p),
                        None => kind = Kind::Task,
                    },
                    Kind::Story if life.rng.random_bool(0.5) => {
                        parent = recent(life.rng, &epics[project], 5);
                    }
                    _ => {}
                }
                let summary_text = if summary_text.is_empty() {
                    jira::summary(life.rng, kind)
                } else {
                    summary_text
                };
                let mut issue = life.new_issue(kind, flavour_of(project), t, summary_text);
                key_numbers[project] += 1;
                issue.id = ids.take(life.rng).to_string();
                issue.key = format!("{}-{}", j.projects[project].key, key_numbers[project]);
                issue.project_id = j.projects[project].id.clone();
                issue.parent_id = parent.map(|p| j.issues[p].id.clone());
                let idx = j.issues.len();
                match kind {
                    Kind::Story | Kind::Task | Kind::Bug => parents[project].push(idx),
                    Kind::Epic => epics[project].push(idx),
                    _ => {}
                }
                if !done.contains(&issue.status_id) {
                    open.push(idx);
                }
                j.issues.push(issue);
                summary.issues_created += 1;
            }
            Ev::Update => {
                if open.is_empty() {
                    continue;
                }
                let pos = life.rng.random_range(0..open.len());
                let idx = open[pos];
                let issue = &mut j.issues[idx];
                if done.contains(&issue.status_id) {
                    open.swap_remove(pos);
                    continue;
                }
                let t = t.max(ms_of(issue.updated) + 1);
                if t > new {
                    continue;
                }
                let Some(&p) = project_index.get(&issue.project_id) else {
                    continue;
                };
                let Some(mut state) = state_of(issue, flavour_of(p), &users) else {
                    continue;
                };
                let h = if life.rng.random_ratio(3, 4) {
                    life.step(&mut state, t)
                } else {
                    life.edit(&mut state, t)
                };
                if let Some(h) = h {
                    issue.changelog.push(h);
                    store_state(issue, &state, t);
                    if idx < created_before {
                        touched.insert(idx);
                    }
                }
            }
        }
    }
    summary.issues_updated = touched.len();

    // History ids: one site-wide sequence, growing with time (everything here is newer).
    let mut keys = Vec::new();
    for (i, issue) in j.issues.iter().enumerate() {
        if i < created_before && !touched.contains(&i) {
            continue;
        }
        for (k, h) in issue.changelog.iter().enumerate() {
            if h.id.is_empty() {
                keys.push((ms_of(h.created), (i, k)));
            }
        }
    }
    let mut seq = IdSeq::new(max_history + 1);
    let issues = &mut j.issues;
    ids_by_time(keys, &mut seq, life.rng, |(i, k), id| {
        issues[i].changelog[k].id = id.to_string();
    });
}

fn recent(rng: &mut StdRng, list: &[usize], window: usize) -> Option<usize> {
    if list.is_empty() {
        return None;
    }
    let lo = list.len().saturating_sub(window);
    Some(list[rng.random_range(lo..list.len())])
}

// ---------------------------------------------------------------------------------------------
// GitHub

/// Next ids for everything GitHub numbers.
struct GhIds {
    pull: IdSeq,
    review: IdSeq,
    comment: IdSeq,
    review_comment: IdSeq,
}

fn advance_github(
    rng: &mut StdRng,
    g: &mut GithubData,
    jira: &JiraData,
    (old, new): (i64, i64),
    minutes: u32,
    summary: &mut AdvanceSummary,
) -> Vec<IncidentSeed> {
    // Whole seconds strictly after the old now.
    let lo = floor_sec(old) + SEC;
    let hi = floor_sec(new);
    let active: Vec<usize> = (0..g.repos.len()).filter(|&r| !g.repos[r].archived).collect();
    if lo > hi || active.is_empty() {
        return Vec::new();
    }
    let users = g.users.clone();
    let who = github::who(&users);
    if who.humans == 0 {
        return Vec::new();
    }

    let mut max = [0u64; 4];
    let mut first = old;
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut n_pulls = 0usize;
    for (r, repo) in g.repos.iter().enumerate() {
        for (k, p) in repo.pulls.iter().enumerate() {
            n_pulls += 1;
            first = first.min(ms_of(p.created_at));
            max[0] = max[0].max(p.id);
            for x in &p.reviews {
                max[1] = max[1].max(x.id);
            }
            for x in &p.comments {
                max[2] = max[2].max(x.id);
            }
            for x in &p.review_comments {
                max[3] = max[3].max(x.id);
            }
            if p.state == "open" && !repo.archived {
                open.push((r, k));
            }
        }
    }
    let mut ids = GhIds {
        pull: IdSeq::new(max[0].max(1_099_999_999) + 1),
        review: IdSeq::new(max[1].max(1_499_999_999) + 1),
        comment: IdSeq::new(max[2].max(1_799_999_999) + 1),
        review_comment: IdSeq::new(max[3].max(1_299_999_999) + 1),
    };
    let span = (old - first).max(DAY);
    let win = new - old;
    let mut n_new = round_random(rng, expected(n_pulls, span, win));
    let mut n_upd = round_random(rng, expected(n_pulls * 4, span, win));
    if minutes >= 60 {
        n_new = n_new.max(1);
        n_upd = n_upd.max(2);
    }
    n_new = n_new.min(MAX_EVENTS / 8);
    n_upd = n_upd.min(MAX_EVENTS / 2);

    let repo_weights: Vec<u32> = active
        .iter()
        .map(|&r| (g.repos[r].pulls.len() as u32).saturating_add(1))
        .collect();
    let refs = JiraRefs::new(jira);
    let runs_before: Vec<usize> = g.repos.iter().map(|r| r.workflow_runs.len()).collect();

    let mut events: Vec<(i64, bool)> = Vec::with_capacity(n_new + n_upd);
    for _ in 0..n_new {
        events.push((floor_sec(rng.random_range(lo..=hi)), true));
    }
    for _ in 0..n_upd {
        events.push((floor_sec(rng.random_range(lo..=hi)), false));
    }
    events.sort_unstable();

    let mut touched: HashSet<(usize, usize)> = HashSet::new();
    let pulls_before: Vec<usize> = g.repos.iter().map(|r| r.pulls.len()).collect();
    for (t, is_new) in events {
        let mut pg = PullGen {
            rng,
            now: hi,
            who,
            users: &users,
        };
        if is_new {
            let r = active[weighted(pg.rng, &repo_weights)];
            if let Some(k) = new_pull(&mut pg, g, r, t, lo, &mut ids, &refs) {
                open.push((r, k));
                summary.pulls_created += 1;
            }
        } else if !open.is_empty() {
            let pos = pg.rng.random_range(0..open.len());
            let (r, k) = open[pos];
            if g.repos[r].pulls[k].state != "open" {
                open.swap_remove(pos);
                continue;
            }
            let t = t.max(ms_of(g.repos[r].pulls[k].updated_at) + SEC);
            if t > hi {
                continue;
            }
            update_pull(&mut pg, g, r, k, t, &mut ids);
            if k < pulls_before[r] {
                touched.insert((r, k));
            }
        }
    }
    summary.pulls_updated = touched.len();

    // Deployments: finish the running ones, ship what was merged since the last deployment.
    let mut incidents = Vec::new();
    let n_projects = jira.projects.len();
    for &r in &active {
        finish_running(rng, g, r, (lo, hi));
        if let Some(mut seeds) = deploy_new_merges(rng, g, r, (lo, hi), who, n_projects, summary) {
            incidents.append(&mut seeds);
        }
    }
    for (r, repo) in g.repos.iter_mut().enumerate() {
        let before = runs_before[r].min(repo.workflow_runs.len());
        let (ci, deploy) = repo.workflow_runs[..before].iter().fold((0, 0), |(c, d), x| {
            if x.name == CI_WORKFLOW {
                (c.max(x.run_number), d)
            } else {
                (c, d.max(x.run_number))
            }
        });
        let tail = &mut repo.workflow_runs[before..];
        tail.sort_by_key(|x| (x.created_at, x.workflow_id));
        github::number_runs(tail, ci, deploy);
    }
    assign_new_ids(rng, g);
    // Incidents are created in Jira: they must fall inside the window too.
    incidents.retain(|s| s.created > old && s.created <= new);
    incidents
}

/// A new pull request in repo `r`, opened at `t` (commits pushed just before, inside the window).
fn new_pull(
    pg: &mut PullGen<'_>,
    g: &mut GithubData,
    r: usize,
    t: i64,
    lo: i64,
    ids: &mut GhIds,
    refs: &JiraRefs<'_>,
) -> Option<usize> {
    if t < lo + SEC {
        return None;
    }
    let who = pg.who;
    let author = if pg.rng.random_ratio(1, 10) {
        if pg.rng.random_bool(0.6) {
            who.dependabot()
        } else {
            who.renovate()
        }
    } else {
        pg.human()
    };
    let bot = who.is_bot(author);
    let n = if bot { 1 } else { 1 + poisson(pg.rng, 1.5) };
    let from = (t - log_uniform(pg.rng, 2 * MIN, 6 * HOUR)).max(lo);
    let commits = pg.commits(author, n, from, t - SEC);
    let repo = &mut g.repos[r];
    let last = repo.pulls.last().map_or(0, |p| p.number);
    let number = last + if pg.rng.random_ratio(7, 8) { 1 } else { 2 };
    let id = ids.pull.take(pg.rng);
    let (additions, deletions) = (
        log_uniform(pg.rng, 1, 1500) as u64,
        log_uniform(pg.rng, 1, 800) as u64 - 1,
    );
    let mut pr = GhPull {
        number,
        id,
        node_id: node_id("PR_kwDO", id),
        title: String::new(),
        body: String::new(),
        author,
        state: "open".into(),
        draft: !bot && pg.rng.random_ratio(1, 4),
        created_at: ts(t),
        updated_at: ts(t),
        closed_at: None,
        merged_at: None,
        base_ref: repo.default_branch.clone(),
        head_ref: String::new(),
        head_sha: commits.last().map_or_else(|| sha(pg.rng), |c| c.sha.clone()),
        merge_commit_sha: None,
        additions,
        deletions,
        changed_files: (log_uniform(pg.rng, 1, 40) as u64).min(additions + deletions).max(1),
        commits,
        reviews: Vec::new(),
        comments: Vec::new(),
        review_comments: Vec::new(),
    };
    let issue: Option<IssueRef> = refs.pick(pg.rng, r, t);
    let base = repo.default_branch.clone();
    write_pull_texts(pg.rng, &mut pr, pg.users, who, &base, issue);
    if let Some(run) = ci_run(pg.rng, r, &pr, t, pg.now) {
        repo.workflow_runs.push(run);
    }
    let pushed = pr.commits.last().map_or(pr.created_at, |c| c.committed_at);
    repo.pushed_at = repo.pushed_at.max(pushed);
    repo.updated_at = repo.updated_at.max(repo.pushed_at);
    repo.pulls.push(pr);
    Some(repo.pulls.len() - 1)
}

/// Something happens to an open pull request at `t`: a push, a review, a comment, a merge or a
/// close.
fn update_pull(pg: &mut PullGen<'_>, g: &mut GithubData, r: usize, k: usize, t: i64, ids: &mut GhIds) {
    let who = pg.who;
    let repo = &mut g.repos[r];
    let pr = &mut repo.pulls[k];
    let author = pr.author;
    let bot = who.is_bot(author);
    // Approved, and nobody asked for changes since.
    let approved = pr
        .reviews
        .iter()
        .rev()
        .find(|x| x.state == "APPROVED" || x.state == "CHANGES_REQUESTED")
        .is_some_and(|x| x.state == "APPROVED");
    enum Act {
        Ready,
        Push,
        Review,
        Comment,
        Merge,
        Close,
    }
    let roll = pg.rng.random_range(0..100);
    // What happens next depends on where the pull request stands.
    let act = if pr.draft {
        match roll {
            0..35 => Act::Ready,
            35..70 => Act::Push,
            _ => Act::Comment,
        }
    } else if bot {
        match roll {
            0..70 => Act::Merge,
            70..90 => Act::Review,
            _ => Act::Close,
        }
    } else if approved {
        match roll {
            0..65 => Act::Merge,
            65..80 => Act::Comment,
            80..97 => Act::Push,
            _ => Act::Close,
        }
    } else if pr.reviews.is_empty() {
        match roll {
            0..55 => Act::Review,
            55..75 => Act::Push,
            75..98 => Act::Comment,
            _ => Act::Close,
        }
    } else {
        match roll {
            0..45 => Act::Review,
            45..75 => Act::Push,
            75..98 => Act::Comment,
            _ => Act::Close,
        }
    };
    match act {
        Act::Ready => pr.draft = false,
        Act::Push => {
            let mut c = pg.commits(author, 1, t, t);
            for x in &mut c {
                x.message = super::text::pick_str(pg.rng, &super::text::COMMIT_MESSAGES).to_string();
            }
            if let Some(last) = c.last() {
                pr.head_sha = last.sha.clone();
            }
            pr.commits.extend(c);
            if let Some(run) = ci_run(pg.rng, r, pr, t, pg.now) {
                repo.workflow_runs.push(run);
            }
            repo.pushed_at = repo.pushed_at.max(ts(t));
            repo.updated_at = repo.updated_at.max(repo.pushed_at);
        }
        Act::Review => {
            let own = !bot && pg.rng.random_ratio(1, 12);
            let reviewer = if own { author } else { pg.other_human(author) };
            let state = if own {
                "COMMENTED"
            } else if bot {
                "APPROVED"
            } else {
                ["COMMENTED", "CHANGES_REQUESTED", "APPROVED"][weighted(pg.rng, &[25, 20, 55])]
            };
            let head = pr.head_sha.clone();
            let mut review = pg.review(reviewer, state, t, &head);
            review.id = ids.review.take(pg.rng);
            review.node_id = node_id("PRR_kwDO", review.id);
            if state != "APPROVED" {
                for _ in 0..poisson(pg.rng, 1.0) {
                    let mut c = pg.review_comment(0, reviewer, t, t, &head);
                    c.review_id = review.id;
                    c.id = ids.review_comment.take(pg.rng);
                    c.node_id = node_id("PRRC_kwDO", c.id);
                    pr.review_comments.push(c);
                }
            }
            pr.reviews.push(review);
        }
        Act::Comment => {
            let commenter = if pg.rng.random_ratio(1, 4) {
                author
            } else {
                pg.other_human(author)
            };
            let mut c = pg.comment(commenter, t, t, None);
            c.id = ids.comment.take(pg.rng);
            c.node_id = node_id("IC_kwDO", c.id);
            pr.comments.push(c);
        }
        Act::Merge => {
            pr.state = "closed".into();
            pr.merged_at = Some(ts(t));
            pr.closed_at = Some(ts(t));
            pr.merge_commit_sha = Some(sha(pg.rng));
            repo.pushed_at = repo.pushed_at.max(ts(t));
            repo.updated_at = repo.updated_at.max(repo.pushed_at);
        }
        Act::Close => {
            pr.state = "closed".into();
            pr.closed_at = Some(ts(t));
            pr.draft = false;
        }
    }
    pr.updated_at = ts(t);
}

/// Deployments and runs that were still running at the old `now` finish inside the window.
fn finish_running(rng: &mut StdRng, g: &mut GithubData, r: usize, (lo, hi): (i64, i64)) {
    let repo = &mut g.repos[r];
    for d in &mut repo.deployments {
        let Some(last) = d.statuses.last() else {
            continue;
        };
        if is_final(&last.state) {
            continue;
        }
        let outcome = if d.environment == "production" {
            ["success", "failure", "error"][weighted(rng, &[86, 12, 2])]
        } else {
            ["success", "failure", "error"][weighted(rng, &[94, 5, 1])]
        };
        let mut t = (ms_of(last.created_at) + rng.random_range(5..60) * SEC).max(lo);
        let mut steps = Vec::new();
        if last.state == "queued" {
            steps.push((t, "in_progress", "Deployment started"));
            t += floor_sec(log_uniform(rng, MIN, 15 * MIN));
        }
        let description = match outcome {
            "success" => "Deployment finished successfully.",
            "failure" => "Deployment failed: health check timed out",
            _ => "Deployment errored: runner lost communication",
        };
        steps.push((t, outcome, description));
        for (at, state, description) in steps {
            if at > hi {
                break;
            }
            d.statuses.push(GhDeploymentStatus {
                id: 0,
                node_id: String::new(),
                state: state.into(),
                description: description.into(),
                created_at: ts(at),
            });
        }
        d.updated_at = d.statuses.last().map_or(d.created_at, |s| s.created_at);
        // The workflow run that drives a production deployment ends with it.
        if d.environment == "production"
            && let Some(s) = d.statuses.last()
            && is_final(&s.state)
            && let Some(run) = repo
                .workflow_runs
                .iter_mut()
                .find(|x| x.name == DEPLOY_WORKFLOW && x.head_sha == d.sha && x.status != "completed")
        {
            run.status = "completed".into();
            run.conclusion = Some(if s.state == "success" { "success" } else { "failure" }.into());
            run.updated_at = s.created_at.max(run.updated_at);
        }
    }
    for x in &mut repo.workflow_runs {
        if x.status == "completed" || x.name != CI_WORKFLOW {
            continue;
        }
        let end = floor_sec(ms_of(x.run_started_at) + log_uniform(rng, 2 * MIN, 20 * MIN)).max(lo);
        if end <= hi {
            x.status = "completed".into();
            x.conclusion = Some(["success", "failure"][weighted(rng, &[88, 12])].into());
            x.updated_at = ts(end);
        }
    }
}

/// Ships merges newer than the repository's last deployment: staging, then production.
fn deploy_new_merges(
    rng: &mut StdRng,
    g: &mut GithubData,
    r: usize,
    (lo, hi): (i64, i64),
    who: Who,
    n_projects: usize,
    summary: &mut AdvanceSummary,
) -> Option<Vec<IncidentSeed>> {
    let repo = &g.repos[r];
    let last_deploy = repo.deployments.iter().map(|d| d.created_at).max();
    let latest = repo
        .pulls
        .iter()
        .filter(|p| p.merged_at.is_some() && p.merge_commit_sha.is_some())
        .filter(|p| last_deploy.is_none_or(|d| p.merged_at.is_some_and(|m| m > d)))
        .max_by_key(|p| p.merged_at)?;
    let merged = ms_of(latest.merged_at?);
    let sha = latest.merge_commit_sha.clone()?;
    let after = last_deploy.map_or(merged, |d| ms_of(d).max(merged));
    let staged = floor_sec(after.max(lo) + log_uniform(rng, 5 * MIN, 2 * HOUR)).max(lo);
    if staged > hi {
        return None;
    }
    let branch = repo.default_branch.clone();
    let staging = deployment(rng, "staging", &sha, &branch, staged, hi, who);
    let staged_ok = staging
        .statuses
        .last()
        .filter(|s| s.state == "success")
        .map(|s| ms_of(s.created_at));
    let repo = &mut g.repos[r];
    repo.deployments.push(staging);
    summary.deployments_created += 1;
    let mut seeds = Vec::new();
    if let Some(end) = staged_ok {
        let promoted = floor_sec(end + log_uniform(rng, 10 * MIN, 3 * HOUR));
        if promoted <= hi {
            let prod = deployment(rng, "production", &sha, &branch, promoted, hi, who);
            repo.workflow_runs.push(deploy_run(rng, r, &prod, &branch, who));
            let outcome = prod.statuses.last().map(|s| s.state.clone()).unwrap_or_default();
            let p = match outcome.as_str() {
                "failure" => 0.75,
                "error" => 0.5,
                "success" => 0.03,
                _ => 0.0,
            };
            if p > 0.0 && rng.random_bool(p) {
                let repos = std::slice::from_ref(&*repo);
                if let Some(mut s) = incident_seed(rng, repos, 0, &prod, i64::MAX, n_projects) {
                    s.project = r % n_projects.max(1);
                    seeds.push(s);
                }
            }
            if outcome == "success" && rng.random_ratio(1, 5) {
                release(rng, repo, ms_of(prod.updated_at), hi, who);
            }
            repo.deployments.push(prod);
            summary.deployments_created += 1;
        }
    }
    Some(seeds)
}

fn release(rng: &mut StdRng, repo: &mut crate::model::GhRepo, done: i64, hi: i64, who: Who) {
    let at = floor_sec(done + rng.random_range(60..1800) * SEC);
    if at > hi {
        return;
    }
    let latest = repo
        .releases
        .iter()
        .filter_map(|x| parse_version(&x.tag_name))
        .max()
        .unwrap_or((1, 0, 0));
    let v = (latest.0, latest.1, latest.2 + 1);
    let tag = format!("v{}.{}.{}", v.0, v.1, v.2);
    repo.releases.push(GhRelease {
        id: 0,
        node_id: String::new(),
        name: tag.clone(),
        tag_name: tag,
        target_commitish: repo.default_branch.clone(),
        draft: false,
        prerelease: false,
        author: if rng.random_bool(0.5) {
            who.actions()
        } else {
            rng.random_range(0..who.humans)
        },
        created_at: ts(at),
        published_at: Some(ts(at)),
    });
}

fn parse_version(tag: &str) -> Option<(u32, u32, u32)> {
    let v = tag.strip_prefix('v')?;
    let core = v.split('-').next()?;
    let mut it = core.split('.').map(|x| x.parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

/// Ids (by time) for deployments, statuses, releases and runs created in this window.
fn assign_new_ids(rng: &mut StdRng, g: &mut GithubData) {
    let repos = &mut g.repos;
    let max_of = |f: &dyn Fn(&crate::model::GhRepo) -> Option<u64>, floor: u64| {
        repos.iter().filter_map(f).max().unwrap_or(floor).max(floor) + 1
    };
    let mut dep = IdSeq::new(max_of(&|r| r.deployments.iter().map(|d| d.id).max(), 1_999_999_999));
    let mut st = IdSeq::new(max_of(
        &|r| r.deployments.iter().flat_map(|d| d.statuses.iter().map(|s| s.id)).max(),
        3_999_999_999,
    ));
    let mut rel = IdSeq::new(max_of(&|r| r.releases.iter().map(|x| x.id).max(), 149_999_999));
    let mut run = IdSeq::new(max_of(&|r| r.workflow_runs.iter().map(|x| x.id).max(), 5_999_999_999));

    let mut keys = Vec::new();
    for (r, repo) in repos.iter().enumerate() {
        for (k, d) in repo.deployments.iter().enumerate() {
            if d.id == 0 {
                keys.push((ms_of(d.created_at), (r, k, 0)));
            }
        }
    }
    ids_by_time(keys, &mut dep, rng, |(r, k, _), id| {
        let d = &mut repos[r].deployments[k];
        d.id = id;
        d.node_id = node_id("DE_kwDO", id);
    });
    let mut keys = Vec::new();
    for (r, repo) in repos.iter().enumerate() {
        for (k, d) in repo.deployments.iter().enumerate() {
            for (s, x) in d.statuses.iter().enumerate() {
                if x.id == 0 {
                    keys.push((ms_of(x.created_at), (r, k, s)));
                }
            }
        }
    }
    ids_by_time(keys, &mut st, rng, |(r, k, s), id| {
        let x = &mut repos[r].deployments[k].statuses[s];
        x.id = id;
        x.node_id = node_id("DES_kwDO", id);
    });
    let mut keys = Vec::new();
    for (r, repo) in repos.iter().enumerate() {
        for (k, x) in repo.releases.iter().enumerate() {
            if x.id == 0 {
                keys.push((ms_of(x.created_at), (r, k, 0)));
            }
        }
    }
    ids_by_time(keys, &mut rel, rng, |(r, k, _), id| {
        let x = &mut repos[r].releases[k];
        x.id = id;
        x.node_id = node_id("RE_kwDO", id);
    });
    let mut keys = Vec::new();
    for (r, repo) in repos.iter().enumerate() {
        for (k, x) in repo.workflow_runs.iter().enumerate() {
            if x.id == 0 {
                keys.push((ms_of(x.created_at), (r, k, 0)));
            }
        }
    }
    ids_by_time(keys, &mut run, rng, |(r, k, _), id| {
        let x: &mut GhRun = &mut repos[r].workflow_runs[k];
        x.id = id;
        x.node_id = node_id("WFR_kwLO", id);
    });
}
