//! A hand-built GitHub dataset (the generator is someone else's work): three repositories
//! that share pull-request numbers, a big PR (web #7: 150 commits, 120 reviews, 110 comments),
//! a PR past the 250-commit REST cap (api #3), bots, deployments with statuses, releases,
//! workflow runs. `updated_at` is scrambled so that UPDATED_AT order differs from number order.

use chrono::{DateTime, Duration, TimeZone, Utc};
use pulse_sim::model::{
    Dataset, GhComment, GhCommit, GhDeployment, GhDeploymentStatus, GhPull, GhRelease, GhRepo, GhReview,
    GhReviewComment, GhRun, GhUser, GithubData,
};

pub const BIG_PR: u64 = 7;
pub const BIG_COMMITS: usize = 150;
pub const BIG_REVIEWS: usize = 120;
pub const BIG_COMMENTS: usize = 110;
pub const BIG_REVIEW_COMMENTS: usize = 15;
pub const CAPPED_PR: u64 = 3;
pub const CAPPED_COMMITS: usize = 260;
pub const WEB_PRS: u64 = 40;
/// Open pull requests of `web` (14: five pages of three, as in octokit's `paginate-issues`).
pub const WEB_OPEN: usize = 14;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0)
        .single()
        .expect("valid date")
}

fn user(id: u64, login: &str, kind: &str) -> GhUser {
    GhUser {
        id,
        node_id: format!("U_{id}"),
        login: login.into(),
        name: format!("{} Example", login.trim_end_matches("[bot]")),
        email: format!("{}@example.com", login.trim_end_matches("[bot]")),
        kind: kind.into(),
    }
}

pub fn sha(repo: u64, pr: u64, k: u64) -> String {
    format!(
        "{:040x}",
        (u128::from(repo) << 80) | (u128::from(pr) << 32) | u128::from(k)
    )
}

fn is_open(n: u64) -> bool {
    n % 5 == 4 || (n.is_multiple_of(5) && n <= 30)
}

fn pull(repo_id: u64, n: u64, commits: usize, reviews: usize, comments: usize, rcs: usize) -> GhPull {
    let id = repo_id * 1_000_000 + n;
    let created = now() - Duration::days(200) + Duration::hours(72 * n as i64);
    let updated = created + Duration::hours(24 * ((n * 53) % 40) as i64 + 2);
    let open = is_open(n);
    let merged = !open && n % 5 != 1;
    let closed_at = (!open).then(|| updated - Duration::hours(1));
    let merged_at = merged.then(|| updated - Duration::hours(1));
    let author = (n % 5) as usize;
    let commits: Vec<GhCommit> = (0..commits)
        .map(|k| GhCommit {
            sha: sha(repo_id, n, k as u64),
            message: format!("Commit {k} of #{n}\n\nBody line for {k}."),
            author_name: format!("Dev {}", k % 3),
            author_email: format!("dev{}@example.com", k % 3),
            author: (k % 4 != 3).then_some(k % 3),
            authored_at: created + Duration::minutes(k as i64),
            committed_at: created + Duration::minutes(k as i64 + 1),
        })
        .collect();
    let reviews = (0..reviews)
        .map(|k| GhReview {
            id: id * 1000 + k as u64,
            node_id: format!("PRR_{}", id * 1000 + k as u64),
            author: (k + 1) % 5,
            state: ["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"][k % 4].into(),
            body: format!("review {k}"),
            submitted_at: created + Duration::minutes(30 + k as i64),
            commit_sha: sha(repo_id, n, (k % commits.len().max(1)) as u64),
        })
        .collect();
    let comments = (0..comments)
        .map(|k| GhComment {
            id: id * 1000 + 500 + k as u64,
            node_id: format!("IC_{}", id * 1000 + 500 + k as u64),
            author: (k + 2) % 5,
            body: format!("comment {k} with \"quotes\" and a newline\nhere"),
            created_at: created + Duration::minutes(40 + k as i64),
            updated_at: created + Duration::minutes(40 + k as i64 + (k as i64 % 7) * 600),
        })
        .collect();
    let review_comments = (0..rcs)
        .map(|k| GhReviewComment {
            id: id * 1000 + 900 + k as u64,
            node_id: format!("PRRC_{}", id * 1000 + 900 + k as u64),
            review_id: id * 1000,
            author: (k + 1) % 5,
            body: format!("line comment {k}"),
            path: format!("src/file{}.rs", k % 3),
            commit_sha: sha(repo_id, n, 0),
            created_at: created + Duration::minutes(50 + k as i64),
            updated_at: created + Duration::minutes(50 + k as i64 + (k as i64 % 5) * 300),
        })
        .collect();
    GhPull {
        number: n,
        id,
        node_id: format!("PR_{id}"),
        title: format!("Change number {n}"),
        body: format!("Body of #{n}"),
        author,
        state: if open { "open" } else { "closed" }.into(),
        draft: open && n.is_multiple_of(10),
        created_at: created,
        updated_at: updated,
        closed_at,
        merged_at,
        base_ref: "main".into(),
        head_ref: format!("feature/{n}"),
        head_sha: sha(repo_id, n, commits.len().saturating_sub(1) as u64),
        merge_commit_sha: merged.then(|| sha(repo_id, n, 99_999)),
        additions: n * 10,
        deletions: n,
        changed_files: n % 7 + 1,
        commits,
        reviews,
        comments,
        review_comments,
    }
}

fn repo(id: u64, name: &str, prs: u64, special: impl Fn(u64) -> Option<GhPull>) -> GhRepo {
    let pulls = (1..=prs)
        .map(|n| {
            special(n).unwrap_or_else(|| {
                pull(
                    id,
                    n,
                    (n % 4 + 1) as usize,
                    (n % 3) as usize,
                    (n % 5) as usize,
                    // Line comments belong to a review (on GitHub every one does).
                    if n % 3 == 0 { 0 } else { (n % 2) as usize },
                )
            })
        })
        .collect();
    GhRepo {
        id,
        node_id: format!("R_{id}"),
        owner: "acme".into(),
        name: name.into(),
        default_branch: "main".into(),
        archived: false,
        private: false,
        created_at: now() - Duration::days(400 - id as i64),
        updated_at: now() - Duration::days(id as i64 % 7),
        pushed_at: now() - Duration::days(1),
        pulls,
        deployments: Vec::new(),
        releases: Vec::new(),
        workflow_runs: Vec::new(),
    }
}

fn deployments(repo: &GhRepo) -> Vec<GhDeployment> {
    let states: [&[&str]; 4] = [
        &["queued", "in_progress", "success"],
        &["pending", "failure"],
        &["success"],
        &["in_progress", "error"],
    ];
    (0..12u64)
        .map(|i| {
            let created = now() - Duration::days(30) + Duration::days(2 * i as i64);
            let merged: Vec<&GhPull> = repo.pulls.iter().filter(|p| p.merged_at.is_some()).collect();
            let sha = merged[i as usize % merged.len()]
                .merge_commit_sha
                .clone()
                .unwrap_or_default();
            GhDeployment {
                id: 9000 + i,
                node_id: format!("DE_{}", 9000 + i),
                sha,
                r#ref: if i % 4 == 3 { format!("v1.{i}") } else { "main".into() },
                task: "deploy".into(),
                environment: if i % 3 == 0 { "staging" } else { "production" }.into(),
                creator: (i % 2) as usize * 4,
                created_at: created,
                updated_at: created + Duration::minutes(20),
                statuses: states[i as usize % 4]
                    .iter()
                    .enumerate()
                    .map(|(k, s)| GhDeploymentStatus {
                        id: 90_000 + i * 10 + k as u64,
                        node_id: format!("DES_{}", 90_000 + i * 10 + k as u64),
                        state: (*s).into(),
                        description: format!("{s} step"),
                        created_at: created + Duration::minutes(5 * k as i64),
                    })
                    .collect(),
            }
        })
        .collect()
}

fn releases() -> Vec<GhRelease> {
    (0..5u64)
        .map(|i| GhRelease {
            id: 8000 + i,
            node_id: format!("RE_{}", 8000 + i),
            tag_name: format!("v1.{i}.0"),
            name: format!("Release 1.{i}"),
            target_commitish: "main".into(),
            draft: i == 4,
            prerelease: i == 3,
            author: (i % 3) as usize,
            created_at: now() - Duration::days(50) + Duration::days(7 * i as i64),
            published_at: (i != 4)
                .then(|| now() - Duration::days(50) + Duration::days(7 * i as i64) + Duration::hours(1)),
        })
        .collect()
}

fn runs(repo: &GhRepo) -> Vec<GhRun> {
    (0..20u64)
        .map(|i| {
            let created = now() - Duration::days(40) + Duration::days(2 * i as i64);
            let pr = &repo.pulls[i as usize % repo.pulls.len()];
            let (status, conclusion) = match i {
                19 => ("queued", None),
                18 => ("in_progress", None),
                _ if i % 5 == 2 => ("completed", Some("failure")),
                _ => ("completed", Some("success")),
            };
            GhRun {
                id: 7000 + i,
                node_id: format!("WFR_{}", 7000 + i),
                name: if i % 2 == 0 { "CI" } else { "Deploy production" }.into(),
                workflow_id: if i % 2 == 0 { 501 } else { 502 },
                head_branch: if i % 3 == 0 { "main".into() } else { pr.head_ref.clone() },
                head_sha: pr.head_sha.clone(),
                event: if i % 2 == 0 { "pull_request" } else { "push" }.into(),
                status: status.into(),
                conclusion: conclusion.map(str::to_string),
                run_number: 100 + i,
                run_attempt: 1 + i % 2,
                actor: (i % 5) as usize,
                created_at: created,
                updated_at: created + Duration::minutes(9),
                run_started_at: created + Duration::seconds(5),
            }
        })
        .collect()
}

pub fn dataset() -> Dataset {
    let mut web = repo(101, "web", WEB_PRS, |n| {
        (n == BIG_PR).then(|| pull(101, n, BIG_COMMITS, BIG_REVIEWS, BIG_COMMENTS, BIG_REVIEW_COMMENTS))
    });
    web.deployments = deployments(&web);
    web.releases = releases();
    web.workflow_runs = runs(&web);
    let api = repo(102, "api", 25, |n| {
        (n == CAPPED_PR).then(|| pull(102, n, CAPPED_COMMITS, 2, 2, 1))
    });
    let mut infra = repo(103, "infra", 3, |_| None);
    infra.private = true;
    infra.archived = true;
    Dataset {
        now: now(),
        github: GithubData {
            org: "acme".into(),
            users: vec![
                user(1, "alice", "User"),
                user(2, "bob", "User"),
                user(3, "carol", "User"),
                user(4, "dependabot[bot]", "Bot"),
                user(5, "github-actions[bot]", "Bot"),
            ],
            repos: vec![web, api, infra],
        },
        ..Dataset::default()
    }
}
