//! The small hand-built Jira of these tests (also the reference data of `benches/jira.rs`).

use chrono::{DateTime, Duration, TimeZone, Utc};
use pulse_sim::model::{
    Dataset, JiraChangeItem, JiraData, JiraHistory, JiraIssue, JiraIssueType, JiraProject, JiraStatus, JiraUser,
};
use pulse_sim::upstream::JIRA_CLOUD_EMAIL;

/// The issue with a long history (150 status changes).
pub const BIG: &str = "10150";
pub const ISSUES: usize = 240;
pub const USER_TZ: &str = "Asia/Shanghai";

pub fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
}

const STATUSES: [(&str, &str, &str); 5] = [
    ("1", "Open", "new"),
    ("3", "In Progress", "indeterminate"),
    ("10002", "In Review", "indeterminate"),
    ("10001", "Done", "done"),
    ("10005", "Parked", "mystery"),
];

fn status_name(id: &str) -> String {
    STATUSES.iter().find(|s| s.0 == id).map(|s| s.1.to_string()).unwrap()
}

/// A small Jira: 3 projects, 240 issues (ties on `updated`, parents, sub-tasks, resolved
/// issues, story points, unicode), histories sharing timestamps across issues, and one issue
/// ([`BIG`]) with 150 status changes.
pub fn dataset() -> Dataset {
    let users: Vec<JiraUser> = (0..5)
        .map(|i| JiraUser {
            account_id: format!("5b10a2844c2016570{i:07}"),
            name: format!("user{i}"),
            display_name: format!("User Nummer {i} – Ünïcödé"),
            email: if i == 0 {
                JIRA_CLOUD_EMAIL.into()
            } else {
                format!("user{i}@example.com")
            },
            time_zone: if i % 2 == 0 { "Europe/Berlin" } else { USER_TZ }.into(),
        })
        .collect();
    let projects = [
        ("10000", "ALPHA", "Alpha"),
        ("10001", "BETA", "Beta"),
        ("10002", "GAMMA", "Gamma \"G\""),
    ]
    .iter()
    .map(|(id, key, name)| JiraProject {
        id: (*id).into(),
        key: (*key).into(),
        name: (*name).into(),
    })
    .collect::<Vec<_>>();
    let issue_types = [
        ("10000", "Epic", false, 1),
        ("10001", "Story", false, 0),
        ("10004", "Bug", false, 0),
        ("10003", "Sub-task", true, -1),
    ]
    .iter()
    .map(|(id, name, subtask, level)| JiraIssueType {
        id: (*id).into(),
        name: (*name).into(),
        subtask: *subtask,
        hierarchy_level: *level,
    })
    .collect();
    let statuses = STATUSES
        .iter()
        .map(|(id, name, cat)| JiraStatus {
            id: (*id).into(),
            name: (*name).into(),
            category_key: (*cat).into(),
        })
        .collect();

    let mut issues = Vec::new();
    let mut per_project = [0u32; 3];
    let mut history_id = 500_000u64;
    let cycle = ["1", "3", "10002", "10001"];
    for i in 0..ISSUES {
        let id = format!("{}", 10_001 + i);
        let p = i % 3;
        per_project[p] += 1;
        let key = format!("{}-{}", projects[p].key, per_project[p]);
        let created = base() + Duration::hours(3 * i as i64) + Duration::milliseconds(i as i64 * 7);
        let n_hist = if id == BIG { 150 } else { i % 6 };
        let mut changelog = Vec::new();
        let mut status = "1".to_string();
        for j in 0..n_hist {
            history_id += 1;
            let to = cycle[(j + 1) % cycle.len()];
            let mut items = vec![JiraChangeItem {
                field: "status".into(),
                field_type: "jira".into(),
                field_id: Some("status".into()),
                from: Some(status.clone()),
                from_string: Some(status_name(&status)),
                to: Some(to.into()),
                to_string: Some(status_name(to)),
            }];
            if j % 3 == 1 {
                items.push(JiraChangeItem {
                    field: "assignee".into(),
                    field_type: "jira".into(),
                    field_id: Some("assignee".into()),
                    from: None,
                    from_string: None,
                    to: Some(users[j % 5].account_id.clone()),
                    to_string: Some(users[j % 5].display_name.clone()),
                });
            }
            changelog.push(JiraHistory {
                id: history_id.to_string(),
                author: (i + j) % users.len(),
                // Issue i's j-th change lands on the hour grid shared with other issues.
                created: created - Duration::milliseconds(i as i64 * 7) + Duration::hours(j as i64 + 1),
                items,
            });
            status = to.into();
        }
        // Many issues share an `updated` value (ties are broken by id).
        let mut updated = base() + Duration::days(((i * 37) % 60) as i64);
        if let Some(last) = changelog.last() {
            updated = updated.max(last.created);
        }
        updated = updated.max(created);
        let type_id = match i % 20 {
            0 => "10000",
            9 | 19 => "10003",
            5 | 15 => "10004",
            _ => "10001",
        };
        let parent_id = match i % 20 {
            0 => None,
            9 | 19 => Some(format!("{}", 10_001 + i - 1)),
            _ => Some(format!("{}", 10_001 + i - i % 20)),
        };
        issues.push(JiraIssue {
            id,
            key,
            project_id: projects[p].id.clone(),
            issue_type_id: type_id.into(),
            status_id: if i == 7 { "10005".into() } else { status.clone() },
            summary: format!("Issue \"{i}\" – 測試 \\ tab\there"),
            priority: [Some("Highest"), Some("High"), Some("Medium"), Some("Low"), None][i % 5].map(str::to_string),
            assignee: (i % 4 != 0).then_some(i % 5),
            reporter: Some((i + 1) % 5),
            created,
            updated,
            resolved: (status == "10001").then_some(updated),
            story_points: (type_id == "10001").then_some([1.0, 2.0, 3.0, 5.0, 8.0, 0.5][i % 6]),
            parent_id: if i % 20 == 0 { None } else { parent_id },
            changelog,
        });
    }
    Dataset {
        now: base() + Duration::days(120),
        jira: JiraData {
            user_time_zone: USER_TZ.into(),
            users,
            statuses,
            issue_types,
            projects,
            issues,
        },
        github: Default::default(),
    }
}
