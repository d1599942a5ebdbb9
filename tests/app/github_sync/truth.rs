//! The ground truth (the simulator's dataset) and what the sync stored, in one shape.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use entity::{deployments, pr_comments, pr_commits, pr_issue_links, pr_reviews, pull_requests, repositories};
use pulse_etl::domain::integration::glob_match;
use pulse_sim::SimHandle;
use pulse_sim::model::{Dataset, GhPull, GhRepo, GhUser};
use sea_orm::{DatabaseConnection, EntityTrait};

use crate::helpers::TestApp;

/// (`owner/name`, number): a pull request's identity (numbers repeat across repositories).
pub type PrKey = (String, i32);

#[derive(Clone, Debug, PartialEq)]
pub struct PrFacts {
    pub node_id: String,
    pub title: String,
    pub author: Option<String>,
    pub author_is_bot: bool,
    pub state: String,
    pub draft: bool,
    pub created: i64,
    pub updated: i64,
    pub merged: Option<i64>,
    pub closed: Option<i64>,
    pub changes: (i32, i32, i32),
    pub refs: (String, String),
    pub merge_commit_sha: Option<String>,
    pub first_commit: Option<i64>,
    pub first_review: Option<i64>,
    pub first_response: Option<i64>,
}

/// (author, state, submitted, commit sha)
pub type ReviewFacts = (Option<String>, String, Option<i64>, Option<String>);

/// Everything that hangs off one pull request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Nested {
    pub reviews: BTreeMap<String, ReviewFacts>,
    /// sha → (message, authored, author login)
    pub commits: BTreeMap<String, (String, Option<i64>, Option<String>)>,
    /// node id → (kind, author, created)
    pub comments: BTreeMap<String, (String, Option<String>, i64)>,
    /// Jira key → where found first
    pub links: BTreeMap<String, String>,
}

/// (`owner/name`, source, external id).
pub type DeployKey = (String, String, String);

#[derive(Clone, Debug, PartialEq)]
pub struct DeployFacts {
    pub environment: Option<String>,
    pub is_production: bool,
    pub sha: Option<String>,
    pub r#ref: Option<String>,
    pub status: String,
    pub created: i64,
    pub finished: Option<i64>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Facts {
    pub prs: BTreeMap<PrKey, PrFacts>,
    pub nested: BTreeMap<PrKey, Nested>,
    pub deployments: BTreeMap<DeployKey, DeployFacts>,
}

pub fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn login(users: &[GhUser], i: usize) -> (Option<String>, bool) {
    match users.get(i) {
        Some(u) => (Some(u.login.clone()), u.kind == "Bot"),
        None => (None, false),
    }
}

/// Jira keys as a reader would find them: words shaped `KEY-123…` of known projects.
pub fn expected_links(pr: &GhPull, known: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let places = [("title", pr.title.as_str()), ("branch", pr.head_ref.as_str())]
        .into_iter()
        .chain(pr.commits.iter().map(|c| ("commit", c.message.as_str())));
    for (place, text) in places {
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
            let Some((project, rest)) = word.split_once('-') else {
                continue;
            };
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            if known.contains(project) && !digits.is_empty() {
                out.entry(format!("{project}-{digits}"))
                    .or_insert_with(|| place.to_string());
            }
        }
    }
    out
}

pub fn pr_truth(users: &[GhUser], pr: &GhPull, known: &BTreeSet<String>) -> (PrFacts, Nested) {
    let (author, author_is_bot) = login(users, pr.author);
    let other_human = |i: usize| i != pr.author && users.get(i).is_some_and(|u| u.kind != "Bot");
    let first_review = pr
        .reviews
        .iter()
        .filter(|r| other_human(r.author))
        .map(|r| r.submitted_at)
        .min();
    let first_comment = pr
        .comments
        .iter()
        .filter(|c| other_human(c.author))
        .map(|c| c.created_at)
        .chain(
            pr.review_comments
                .iter()
                .filter(|c| other_human(c.author))
                .map(|c| c.created_at),
        )
        .min();
    let first_response = [first_review, first_comment].into_iter().flatten().min();
    let state = if pr.merged_at.is_some() {
        "MERGED"
    } else if pr.state == "closed" || pr.closed_at.is_some() {
        "CLOSED"
    } else {
        "OPEN"
    };
    let facts = PrFacts {
        node_id: pr.node_id.clone(),
        title: pr.title.clone(),
        author,
        author_is_bot,
        state: state.into(),
        draft: pr.draft,
        created: ms(pr.created_at),
        updated: ms(pr.updated_at),
        merged: pr.merged_at.map(ms),
        closed: pr.closed_at.map(ms),
        changes: (pr.additions as i32, pr.deletions as i32, pr.changed_files as i32),
        refs: (pr.base_ref.clone(), pr.head_ref.clone()),
        merge_commit_sha: pr.merge_commit_sha.clone().filter(|_| pr.merged_at.is_some()),
        first_commit: pr.commits.iter().map(|c| ms(c.authored_at)).min(),
        first_review: first_review.map(ms),
        first_response: first_response.map(ms),
    };
    let mut nested = Nested::default();
    for r in &pr.reviews {
        nested.reviews.insert(
            r.node_id.clone(),
            (
                login(users, r.author).0,
                r.state.clone(),
                Some(ms(r.submitted_at)),
                Some(r.commit_sha.clone()),
            ),
        );
    }
    for c in &pr.commits {
        // GitActor.user is a User: bots have none.
        let user = c
            .author
            .and_then(|i| users.get(i))
            .filter(|u| u.kind != "Bot")
            .map(|u| u.login.clone());
        nested
            .commits
            .insert(c.sha.clone(), (c.message.clone(), Some(ms(c.authored_at)), user));
    }
    for c in &pr.comments {
        nested.comments.insert(
            c.node_id.clone(),
            ("issue".into(), login(users, c.author).0, ms(c.created_at)),
        );
    }
    for c in &pr.review_comments {
        nested.comments.insert(
            c.node_id.clone(),
            ("review".into(), login(users, c.author).0, ms(c.created_at)),
        );
    }
    nested.links = expected_links(pr, known);
    (facts, nested)
}

pub fn deploy_truth(repo: &GhRepo, source: &str, pattern: &str) -> Vec<(String, DeployFacts)> {
    match source {
        "deployments" => repo
            .deployments
            .iter()
            .map(|d| {
                let first = |states: &[&str]| {
                    d.statuses
                        .iter()
                        .filter(|s| states.contains(&s.state.as_str()))
                        .map(|s| ms(s.created_at))
                        .min()
                };
                let success = first(&["success"]);
                let status = match success {
                    Some(_) => "success".to_string(),
                    None => d.statuses.last().map_or_else(|| "pending".into(), |s| s.state.clone()),
                };
                let is_sha = d.r#ref.len() == 40 && d.r#ref.bytes().all(|b| b.is_ascii_hexdigit());
                (
                    d.id.to_string(),
                    DeployFacts {
                        environment: Some(d.environment.clone()),
                        is_production: glob_match(pattern, &d.environment),
                        sha: Some(d.sha.clone()),
                        r#ref: (!is_sha).then(|| d.r#ref.clone()),
                        status,
                        created: ms(d.created_at),
                        finished: success.or(first(&["failure", "error"])),
                    },
                )
            })
            .collect(),
        "releases" => repo
            .releases
            .iter()
            .filter(|r| !r.draft && r.published_at.is_some())
            .map(|r| {
                (
                    r.id.to_string(),
                    DeployFacts {
                        environment: Some(if r.prerelease { "prerelease" } else { "production" }.into()),
                        is_production: !r.prerelease,
                        sha: None,
                        r#ref: Some(r.tag_name.clone()),
                        status: "success".into(),
                        created: ms(r.created_at),
                        finished: r.published_at.map(ms),
                    },
                )
            })
            .collect(),
        "workflow_runs" => repo
            .workflow_runs
            .iter()
            .filter(|r| r.head_branch == repo.default_branch && glob_match(pattern, &r.name))
            .map(|r| {
                let done = r.status == "completed";
                (
                    r.id.to_string(),
                    DeployFacts {
                        environment: Some(r.name.clone()),
                        is_production: true,
                        sha: Some(r.head_sha.clone()),
                        r#ref: Some(r.head_branch.clone()),
                        status: if done {
                            r.conclusion.clone().unwrap_or_else(|| "success".into())
                        } else {
                            r.status.clone()
                        },
                        created: ms(r.created_at),
                        finished: done.then(|| ms(r.updated_at)),
                    },
                )
            })
            .collect(),
        _ => repo
            .pulls
            .iter()
            .filter(|p| p.merged_at.is_some() && p.base_ref == repo.default_branch)
            .map(|p| {
                let at = p.merged_at.map(ms);
                (
                    p.number.to_string(),
                    DeployFacts {
                        environment: Some("production".into()),
                        is_production: true,
                        sha: p.merge_commit_sha.clone(),
                        r#ref: Some(p.base_ref.clone()),
                        status: "success".into(),
                        created: at.unwrap_or_default(),
                        finished: at,
                    },
                )
            })
            .collect(),
    }
}

/// What the configuration describes: which repositories, which deployment source.
#[derive(Clone)]
pub struct Setup {
    pub repos: Vec<String>,
    pub source: String,
    pub pattern: String,
}

pub fn truth(data: &Dataset, setup: &Setup) -> Facts {
    let known: BTreeSet<String> = data.jira.projects.iter().map(|p| p.key.clone()).collect();
    let mut f = Facts::default();
    for repo in &data.github.repos {
        let full = format!("{}/{}", repo.owner, repo.name);
        if !setup.repos.contains(&full) {
            continue;
        }
        for pr in &repo.pulls {
            let (facts, nested) = pr_truth(&data.github.users, pr, &known);
            let key = (full.clone(), pr.number as i32);
            f.prs.insert(key.clone(), facts);
            f.nested.insert(key, nested);
        }
        for (id, d) in deploy_truth(repo, &setup.source, &setup.pattern) {
            f.deployments.insert((full.clone(), setup.source.clone(), id), d);
        }
    }
    f
}

pub async fn stored(app: &TestApp) -> Facts {
    stored_in(&app.db).await
}

/// What the sync stored in `db`, failing on any row stored twice.
pub async fn stored_in(db: &DatabaseConnection) -> Facts {
    let repos: BTreeMap<i64, String> = repositories::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id, format!("{}/{}", r.owner, r.name)))
        .collect();
    let mut f = Facts::default();
    let mut key_of: BTreeMap<i64, PrKey> = BTreeMap::new();
    for p in pull_requests::Entity::find().all(db).await.unwrap() {
        let key = (repos[&p.repository_id].clone(), p.number);
        key_of.insert(p.id, key.clone());
        let facts = PrFacts {
            node_id: p.node_id,
            title: p.title,
            author: p.author,
            author_is_bot: p.author_is_bot,
            state: p.state,
            draft: p.draft,
            created: ms(p.created),
            updated: ms(p.updated),
            merged: p.merged_at.map(ms),
            closed: p.closed_at.map(ms),
            changes: (p.additions, p.deletions, p.changed_files),
            refs: (p.base_ref, p.head_ref),
            merge_commit_sha: p.merge_commit_sha,
            first_commit: p.first_commit_at.map(ms),
            first_review: p.first_review_at.map(ms),
            first_response: p.first_response_at.map(ms),
        };
        assert!(f.prs.insert(key.clone(), facts).is_none(), "{key:?} stored twice");
        f.nested.insert(key, Nested::default());
    }
    for r in pr_reviews::Entity::find().all(db).await.unwrap() {
        let n = f.nested.get_mut(&key_of[&r.pull_request_id]).unwrap();
        let dup = n.reviews.insert(
            r.node_id.clone(),
            (r.author, r.state, r.submitted_at.map(ms), r.commit_sha),
        );
        assert!(dup.is_none(), "review {} stored twice", r.node_id);
    }
    for c in pr_commits::Entity::find().all(db).await.unwrap() {
        let n = f.nested.get_mut(&key_of[&c.pull_request_id]).unwrap();
        let dup = n
            .commits
            .insert(c.sha.clone(), (c.message, c.authored_at.map(ms), c.author_login));
        assert!(dup.is_none(), "commit {} stored twice", c.sha);
    }
    for c in pr_comments::Entity::find().all(db).await.unwrap() {
        let n = f.nested.get_mut(&key_of[&c.pull_request_id]).unwrap();
        let dup = n.comments.insert(c.node_id.clone(), (c.kind, c.author, ms(c.created)));
        assert!(dup.is_none(), "comment {} stored twice", c.node_id);
    }
    for l in pr_issue_links::Entity::find().all(db).await.unwrap() {
        let n = f.nested.get_mut(&key_of[&l.pull_request_id]).unwrap();
        n.links.insert(l.issue_key, l.found_in);
    }
    for d in deployments::Entity::find().all(db).await.unwrap() {
        let key = (repos[&d.repository_id].clone(), d.source, d.external_id);
        let facts = DeployFacts {
            environment: d.environment,
            is_production: d.is_production,
            sha: d.sha,
            r#ref: d.r#ref,
            status: d.status,
            created: ms(d.created),
            finished: d.finished_at.map(ms),
        };
        assert!(f.deployments.insert(key.clone(), facts).is_none(), "{key:?} twice");
    }
    f
}

pub async fn assert_equals_ground_truth(app: &TestApp, setup: &Setup) {
    assert_matches_sim(app.sim.as_ref().unwrap(), &app.db, setup).await;
}

/// The stored GitHub rows are exactly the simulator's pull requests (with their reviews,
/// commits, comments and Jira links) and deployments, none twice.
pub async fn assert_matches_sim(sim: &SimHandle, db: &DatabaseConnection, setup: &Setup) {
    let data = sim.state.data().clone();
    let want = truth(&data, setup);
    let got = stored_in(db).await;
    assert!(
        !want.prs.is_empty() && !want.deployments.is_empty(),
        "a dataset worth comparing"
    );
    assert_eq!(
        got.prs.keys().collect::<Vec<_>>(),
        want.prs.keys().collect::<Vec<_>>(),
        "the same pull requests (by repository and number)"
    );
    for (key, w) in &want.prs {
        assert_eq!(got.prs.get(key), Some(w), "pull request {key:?}");
        assert_eq!(
            got.nested.get(key),
            want.nested.get(key),
            "rows of pull request {key:?}"
        );
    }
    assert_eq!(
        got.deployments.keys().collect::<Vec<_>>(),
        want.deployments.keys().collect::<Vec<_>>(),
        "the same deployments"
    );
    for (key, w) in &want.deployments {
        assert_eq!(got.deployments.get(key), Some(w), "deployment {key:?}");
    }
}

/// Whatever is stored is whole: each stored pull request has exactly its true rows.
pub async fn assert_no_partial_pull_request(app: &TestApp, setup: &Setup) {
    assert_no_partial_pull_request_in(app.sim.as_ref().unwrap(), &app.db, setup).await;
}

pub async fn assert_no_partial_pull_request_in(sim: &SimHandle, db: &DatabaseConnection, setup: &Setup) {
    let data = sim.state.data().clone();
    let want = truth(&data, setup);
    let got = stored_in(db).await;
    for (key, nested) in &got.nested {
        assert_eq!(Some(nested), want.nested.get(key), "{key:?} stored with partial rows");
        assert_eq!(got.prs.get(key), want.prs.get(key), "{key:?}");
    }
}
