//! Hand-built rows with hand-computed answers (see each item's comment), inserted through the
//! entities. Window under test: 2026-03-01 … 2026-03-14 (two weeks).

use chrono::{DateTime, TimeZone, Utc};
use entity::enums::{AuthKind, Flavour, IntegrationKind, StepCategory, WorkCategory};
use entity::{
    deployments, flow_steps, integrations, issue_type_mappings, jira_issues, jira_projects, jira_status_transitions,
    jira_statuses, pr_comments, pr_commits, pr_reviews, pull_requests, repositories, status_mappings,
};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use serde_json::json;

pub const WINDOW: &str = "from=2026-03-01&to=2026-03-14";

/// 2026-03-`d` at `h`:`m` UTC.
pub fn t(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).unwrap()
}

pub async fn integration(db: &DatabaseConnection, kind: &str) -> i64 {
    integrations::ActiveModel {
        kind: Set(IntegrationKind::parse(kind).unwrap()),
        name: Set(format!("{kind} fixture")),
        base_url: Set("https://example.invalid".into()),
        flavour: Set(if kind == "jira" {
            Flavour::Cloud
        } else {
            Flavour::Github
        }),
        auth_kind: Set(AuthKind::Token),
        settings: Set(json!({})),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

async fn repo(db: &DatabaseConnection, integration_id: i64, name: &str) -> i64 {
    repositories::ActiveModel {
        integration_id: Set(integration_id),
        owner: Set("acme".into()),
        name: Set(name.into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

async fn deploy(
    db: &DatabaseConnection,
    repo: i64,
    env: &str,
    status: &str,
    created: DateTime<Utc>,
    finished: DateTime<Utc>,
) {
    deployments::ActiveModel {
        repository_id: Set(repo),
        source: Set("deployments".into()),
        external_id: Set(uuid::Uuid::new_v4().to_string()),
        environment: Set(Some(env.into())),
        is_production: Set(env == "production"),
        status: Set(status.into()),
        created: Set(created),
        finished_at: Set(Some(finished)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
}

struct Pr<'a> {
    repo: i64,
    number: i32,
    author: &'a str,
    first_commit: DateTime<Utc>,
    created: DateTime<Utc>,
    merged: DateTime<Utc>,
    size: (i32, i32),
    /// (login, state, at)
    reviews: Vec<(&'a str, &'a str, DateTime<Utc>)>,
    /// (login, at)
    comments: Vec<(&'a str, DateTime<Utc>)>,
}

async fn pr(db: &DatabaseConnection, p: Pr<'_>) {
    let row = pull_requests::ActiveModel {
        repository_id: Set(p.repo),
        number: Set(p.number),
        node_id: Set(format!("PR_{}_{}", p.repo, p.number)),
        title: Set(format!("Change {}", p.number)),
        author: Set(Some(p.author.into())),
        author_is_bot: Set(false),
        state: Set("MERGED".into()),
        draft: Set(false),
        created: Set(p.created),
        updated: Set(p.merged),
        merged_at: Set(Some(p.merged)),
        closed_at: Set(Some(p.merged)),
        additions: Set(p.size.0),
        deletions: Set(p.size.1),
        base_ref: Set("main".into()),
        head_ref: Set(format!("feature-{}", p.number)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    pr_commits::ActiveModel {
        pull_request_id: Set(row.id),
        sha: Set(format!("{:040}", row.id)),
        message: Set("work".into()),
        authored_at: Set(Some(p.first_commit)),
        committed_at: Set(Some(p.first_commit)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    for (i, (who, state, at)) in p.reviews.into_iter().enumerate() {
        pr_reviews::ActiveModel {
            pull_request_id: Set(row.id),
            node_id: Set(format!("R_{}_{i}", row.id)),
            author: Set(Some(who.into())),
            author_is_bot: Set(who.ends_with("-ci")),
            state: Set(state.into()),
            submitted_at: Set(Some(at)),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    for (i, (who, at)) in p.comments.into_iter().enumerate() {
        pr_comments::ActiveModel {
            pull_request_id: Set(row.id),
            node_id: Set(format!("C_{}_{i}", row.id)),
            kind: Set("issue".into()),
            author: Set(Some(who.into())),
            author_is_bot: Set(false),
            created: Set(at),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
}

/// GitHub: repositories acme/api and acme/web, six deployments, six pull requests.
///
/// Production deployments in the window: D1 (api, deployed 03-02 11:00), D2 (api, created 03-03
/// 09:00, deployed 12:00), D3 (api, created 03-05 08:00, deployed 08:30), D6 (web, 03-10 10:30)
/// → 4 deployments, 4 deployment days, 2.0 per week. A staging and a failed production
/// deployment are ignored.
///
/// Human PRs merged in the window (stage hours coding / pickup / review / deploy):
/// P1 4 / 1 / 6 / 2 (D1); P2 2 / 4 / dropped (review after merge) / 24 (D2, no approval);
/// P4 2 / 3 / 5 / 22.5 (D3, the failed deployment skipped); P5 6 / 2 / 4 / 22.5 (D6).
/// P3 by a bot (dependabot[bot]) is left out of stages but counts for lead time (12 h).
/// Coding median 3 (even count), pickup 2.5, review 5, deploy 22.5.
/// Change lead times 15, 28, 12, 32.5, 34.5 → median 28.
pub async fn github(db: &DatabaseConnection) {
    let gh = integration(db, "github").await;
    let api = repo(db, gh, "api").await;
    let web = repo(db, gh, "web").await;
    deploy(db, api, "production", "success", t(2, 10, 0), t(2, 11, 0)).await;
    deploy(db, api, "staging", "success", t(2, 12, 0), t(2, 12, 10)).await;
    deploy(db, api, "production", "success", t(3, 9, 0), t(3, 12, 0)).await;
    deploy(db, api, "production", "failure", t(4, 10, 0), t(4, 10, 5)).await;
    deploy(db, api, "production", "success", t(5, 8, 0), t(5, 8, 30)).await;
    deploy(db, web, "production", "success", t(10, 10, 0), t(10, 10, 30)).await;
    pr(
        db,
        Pr {
            repo: api,
            number: 1,
            author: "ann",
            first_commit: t(1, 20, 0),
            created: t(2, 0, 0),
            merged: t(2, 9, 0),
            size: (10, 5),
            reviews: vec![("bob", "APPROVED", t(2, 3, 0))],
            comments: vec![("bob", t(2, 1, 0))],
        },
    )
    .await;
    pr(
        db,
        Pr {
            repo: api,
            number: 2,
            author: "ann",
            first_commit: t(2, 8, 0),
            created: t(2, 10, 0),
            merged: t(2, 12, 0),
            size: (100, 0),
            reviews: vec![("carl", "APPROVED", t(2, 14, 0))],
            comments: vec![],
        },
    )
    .await;
    pr(
        db,
        Pr {
            repo: api,
            number: 3,
            author: "dependabot[bot]",
            first_commit: t(3, 0, 0),
            created: t(3, 1, 0),
            merged: t(3, 2, 0),
            size: (1, 1),
            reviews: vec![],
            comments: vec![],
        },
    )
    .await;
    pr(
        db,
        Pr {
            repo: api,
            number: 4,
            author: "bob",
            first_commit: t(4, 0, 0),
            created: t(4, 2, 0),
            merged: t(4, 10, 0),
            size: (30, 20),
            reviews: vec![("review-ci", "APPROVED", t(4, 3, 0)), ("ann", "APPROVED", t(4, 5, 0))],
            comments: vec![("bob", t(4, 2, 30))],
        },
    )
    .await;
    pr(
        db,
        Pr {
            repo: web,
            number: 5,
            author: "dan",
            first_commit: t(9, 0, 0),
            created: t(9, 6, 0),
            merged: t(9, 12, 0),
            size: (300, 100),
            reviews: vec![("erin", "APPROVED", t(9, 8, 0))],
            comments: vec![],
        },
    )
    .await;
    pr(
        db,
        Pr {
            repo: api,
            number: 6,
            author: "ann",
            first_commit: t(19, 0, 0),
            created: t(19, 6, 0),
            merged: t(20, 12, 0),
            size: (1, 1),
            reviews: vec![],
            comments: vec![],
        },
    )
    .await;
}

async fn step(db: &DatabaseConnection, name: &str, position: i32, category: &str, active: bool) -> i64 {
    flow_steps::ActiveModel {
        name: Set(name.into()),
        position: Set(position),
        category: Set(StepCategory::parse(category).unwrap()),
        is_commitment_point: Set(false),
        active: Set(active),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

async fn type_mapping(db: &DatabaseConnection, from: &str, category: &str, active: bool) {
    issue_type_mappings::ActiveModel {
        issuetype_from: Set(from.into()),
        issuetype_to: Set(from.into()),
        work_category: Set(WorkCategory::parse(category).unwrap()),
        hierarchy_level: Set(0),
        active: Set(active),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
}

async fn status_mapping(db: &DatabaseConnection, status: &str, step: i64) {
    status_mappings::ActiveModel {
        status_from: Set(status.into()),
        flow_step_id: Set(step),
        active: Set(true),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
}

/// Flow configuration (instead of the default one): To Do (TO_DO) → In Progress (IN_PROGRESS) → Review (WAITING) → Done
/// (DONE), and an inactive step "Old" that the status "Parked" maps to. Types: Incident →
/// INCIDENT, Story → FEATURE, Legacy → OTHER but inactive.
pub async fn flow_config(db: &DatabaseConnection) {
    // Replace the default flow seeded by the migrations with this one.
    status_mappings::Entity::delete_many().exec(db).await.unwrap();
    issue_type_mappings::Entity::delete_many().exec(db).await.unwrap();
    flow_steps::Entity::delete_many().exec(db).await.unwrap();
    let todo = step(db, "To Do", 1, "TO_DO", true).await;
    let dev = step(db, "In Progress", 2, "IN_PROGRESS", true).await;
    let review = step(db, "Review", 3, "WAITING", true).await;
    let done = step(db, "Done", 4, "DONE", true).await;
    let old = step(db, "Old", 5, "WAITING", false).await;
    for (status, step) in [
        ("to do", todo),
        ("In Progress", dev),
        ("In Review", review),
        ("DONE", done),
        ("Parked", old),
    ] {
        status_mapping(db, status, step).await;
    }
    type_mapping(db, "Incident", "INCIDENT", true).await;
    type_mapping(db, "Story", "FEATURE", true).await;
    type_mapping(db, "Legacy", "OTHER", false).await;
}

pub struct Issue<'a> {
    pub project: i64,
    pub key: &'a str,
    pub issue_type: &'a str,
    pub created: DateTime<Utc>,
    pub active: bool,
    /// (at, from, to)
    pub moves: Vec<(DateTime<Utc>, &'a str, &'a str)>,
}

pub async fn issue(db: &DatabaseConnection, integration_id: i64, i: Issue<'_>) {
    let status = i.moves.last().map_or("To Do", |m| m.2);
    let category = match status {
        "Done" => "done",
        "To Do" => "new",
        _ => "indeterminate",
    };
    let row = jira_issues::ActiveModel {
        integration_id: Set(integration_id),
        project_id: Set(i.project),
        external_id: Set(format!("ext-{}", i.key)),
        key: Set(i.key.into()),
        issue_type_name: Set(i.issue_type.into()),
        status_name: Set(status.into()),
        status_category_key: Set(category.into()),
        summary: Set(format!("Summary of {}", i.key)),
        created: Set(i.created),
        updated: Set(i.moves.last().map_or(i.created, |m| m.0)),
        active: Set(i.active),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    for (n, (at, from, to)) in i.moves.into_iter().enumerate() {
        jira_status_transitions::ActiveModel {
            issue_id: Set(row.id),
            changelog_id: Set(format!("{}-{n}", row.id)),
            item_index: Set(0),
            from_status: Set(Some(from.into())),
            to_status: Set(to.into()),
            at: Set(at),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
}

/// Jira: project OPS with four incidents, project DEV with stories.
///
/// Incidents: I1 created 03-02 13:00 (follows D1), Done 17:00 → 4 h; I2 created 03-03 12:00,
/// the moment D2 was deployed, so it follows D1 (strictly before), Done 20:00 → 8 h; I3 created
/// 03-05 09:00 (follows D3), unresolved; I4 created 03-12 (follows D6), Done 10:00 → 10 h.
/// Failed deployments: D1, D3, D6 of 4 → 0.75. Time to restore median 8 h.
///
/// DEV (completed in the window): S1 lead 72 h, cycle 48 h, In Progress 36 h, Review 12 h,
/// To Do 24 h, one backward move; S2 lead 30 h, cycle 24 h, In Progress 24 h, To Do 6 h.
/// S3 is in progress (WIP). Left out: S4 (passed through "Parked", an inactive step), L1
/// (inactive type mapping), S5 (inactive issue).
pub async fn jira(db: &DatabaseConnection) {
    let jira = integration(db, "jira").await;
    for (name, cat) in [
        ("To Do", "new"),
        ("In Progress", "indeterminate"),
        ("In Review", "indeterminate"),
        ("Done", "done"),
        ("Parked", "indeterminate"),
    ] {
        jira_statuses::ActiveModel {
            integration_id: Set(jira),
            external_id: Set(name.to_lowercase()),
            name: Set(name.into()),
            category_key: Set(cat.into()),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    let project = |key: &str| jira_projects::ActiveModel {
        integration_id: Set(jira),
        external_id: Set(key.to_lowercase()),
        key: Set(key.into()),
        name: Set(key.into()),
        ..Default::default()
    };
    let ops = project("OPS").insert(db).await.unwrap().id;
    let dev = project("DEV").insert(db).await.unwrap().id;
    let incident = |key, created, moves| Issue {
        project: ops,
        key,
        issue_type: "Incident",
        created,
        active: true,
        moves,
    };
    issue(
        db,
        jira,
        incident(
            "OPS-1",
            t(2, 13, 0),
            vec![
                (t(2, 14, 0), "To Do", "In Progress"),
                (t(2, 17, 0), "In Progress", "Done"),
            ],
        ),
    )
    .await;
    issue(
        db,
        jira,
        incident("OPS-2", t(3, 12, 0), vec![(t(3, 20, 0), "To Do", "Done")]),
    )
    .await;
    issue(
        db,
        jira,
        incident("OPS-3", t(5, 9, 0), vec![(t(5, 10, 0), "To Do", "In Progress")]),
    )
    .await;
    issue(
        db,
        jira,
        incident("OPS-4", t(12, 0, 0), vec![(t(12, 10, 0), "To Do", "Done")]),
    )
    .await;
    let story = |key, issue_type, created, active, moves| Issue {
        project: dev,
        key,
        issue_type,
        created,
        active,
        moves,
    };
    issue(
        db,
        jira,
        story(
            "DEV-1",
            "Story",
            t(1, 0, 0),
            true,
            vec![
                (t(2, 0, 0), "To Do", "In Progress"),
                (t(3, 0, 0), "In Progress", "In Review"),
                (t(3, 12, 0), "In Review", "In Progress"),
                (t(4, 0, 0), "In Progress", "Done"),
            ],
        ),
    )
    .await;
    issue(
        db,
        jira,
        story(
            "DEV-2",
            "Story",
            t(5, 0, 0),
            true,
            vec![
                (t(5, 6, 0), "To Do", "In Progress"),
                (t(6, 6, 0), "In Progress", "Done"),
            ],
        ),
    )
    .await;
    issue(
        db,
        jira,
        story(
            "DEV-3",
            "Story",
            t(6, 0, 0),
            true,
            vec![(t(7, 0, 0), "To Do", "In Progress")],
        ),
    )
    .await;
    issue(
        db,
        jira,
        story(
            "DEV-4",
            "Story",
            t(1, 0, 0),
            true,
            vec![(t(2, 0, 0), "To Do", "Parked"), (t(3, 0, 0), "Parked", "Done")],
        ),
    )
    .await;
    issue(
        db,
        jira,
        story("DEV-5", "Legacy", t(1, 0, 0), true, vec![(t(2, 0, 0), "To Do", "Done")]),
    )
    .await;
    issue(
        db,
        jira,
        story("DEV-6", "Story", t(1, 0, 0), false, vec![(t(2, 0, 0), "To Do", "Done")]),
    )
    .await;
}
