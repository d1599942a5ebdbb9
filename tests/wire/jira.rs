use pulse_etl::integrations::jira::models::{History, Issue, IssueType, Status};

use crate::devlake_items;

#[test]
fn recorded_cloud_issues_with_changelogs_parse() {
    let items = devlake_items("devlake-jira/_raw_jira_api_issues.csv");
    assert_eq!(items.len(), 33);
    let mut histories = 0;
    let mut status_changes = 0;
    for item in items {
        let issue: Issue = serde_json::from_value(item.clone()).unwrap_or_else(|e| panic!("{e}: {}", item["key"]));
        assert_eq!(issue.key, item["key"]);
        assert!(issue.fields.created.is_some() && issue.fields.updated.is_some());
        assert!(issue.fields.status.as_ref().unwrap().status_category.is_some());
        let changelog = issue.changelog.unwrap();
        assert!(
            changelog.is_complete(),
            "{}: {} of {}",
            issue.key,
            changelog.histories.len(),
            changelog.total
        );
        histories += changelog.histories.len();
        status_changes += changelog
            .histories
            .iter()
            .flat_map(|h| &h.items)
            .filter(|i| i.is_status())
            .count();
    }
    assert!(histories > 100, "{histories}");
    assert!(status_changes > 10, "{status_changes}");
}

#[test]
fn recorded_changelog_entries_parse_including_authorless_ones() {
    let items = devlake_items("devlake-jira/_raw_jira_api_issue_changelogs.csv");
    assert_eq!(items.len(), 279);
    for item in items {
        let h: History = serde_json::from_value(item).unwrap();
        assert!(!h.id.is_empty());
        for i in &h.items {
            if i.field == "status" {
                assert!(i.is_status() && i.to.is_some() && i.to_string.is_some());
            }
        }
    }
}

#[test]
fn recorded_statuses_and_issue_types_parse_with_real_category_keys() {
    let statuses: Vec<Status> = devlake_items("devlake-jira/_raw_jira_api_status.csv")
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    assert_eq!(statuses.len(), 53);
    for s in &statuses {
        let key = &s.status_category.as_ref().unwrap().key;
        assert!(["new", "indeterminate", "done"].contains(&key.as_str()), "{key}");
    }
    let types: Vec<IssueType> = devlake_items("devlake-jira/_raw_jira_api_issue_types.csv")
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    assert!(types.iter().any(|t| t.subtask) && types.iter().any(|t| t.hierarchy_level == Some(1)));
}

#[test]
fn recorded_data_center_issues_parse_with_name_and_key_users() {
    let items = devlake_items("devlake-jira/_raw_jira_api_issue_relationships.csv");
    assert!(!items.is_empty());
    let mut authors = 0;
    for item in items {
        let issue: Issue = serde_json::from_value(item).unwrap();
        for h in issue.changelog.map(|c| c.histories).unwrap_or_default() {
            let a = h.author.unwrap();
            assert!(a.account_id.is_none() && a.name.is_some());
            authors += 1;
        }
    }
    assert!(authors > 0);
}
