//! Unit tests for the JQL subset: parser, errors, time zones, evaluation and order.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::jql::{
    self, Cmp, Cursor, DateField, Env, Expr, Filter, Op, Operand, Pred, Query, SortField, SortKey, Value,
};
use crate::model::{JiraData, JiraIssue, JiraProject, JiraStatus, JiraUser};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn issue(id: &str, key: &str, project: &str, created: &str, updated: &str) -> JiraIssue {
    JiraIssue {
        id: id.into(),
        key: key.into(),
        project_id: project.into(),
        issue_type_id: "10001".into(),
        status_id: "1".into(),
        summary: format!("issue {key}"),
        priority: Some("Medium".into()),
        assignee: None,
        reporter: Some(0),
        created: utc(created),
        updated: utc(updated),
        resolved: None,
        story_points: None,
        parent_id: None,
        changelog: Vec::new(),
    }
}

fn data(tz: &str) -> JiraData {
    let mut issues = vec![
        issue(
            "10001",
            "ALPHA-1",
            "100",
            "2024-01-01T00:00:00Z",
            "2024-01-05T00:00:00Z",
        ),
        issue(
            "10002",
            "ALPHA-2",
            "100",
            "2024-01-02T00:00:00Z",
            "2024-01-02T00:00:00Z",
        ),
        issue("10003", "BETA-1", "200", "2024-01-03T00:00:00Z", "2024-01-05T00:00:00Z"),
        issue(
            "10004",
            "ALPHA-10",
            "100",
            "2024-01-04T00:00:00Z",
            "2024-01-01T23:59:59.999Z",
        ),
        issue(
            "10005",
            "ALPHA-9",
            "100",
            "2024-01-04T00:00:00Z",
            "2024-01-06T00:00:00Z",
        ),
        issue(
            "10006",
            "GAMMA-1",
            "300",
            "2024-01-04T00:00:00Z",
            "2024-01-06T00:00:00Z",
        ),
    ];
    issues[1].status_id = "3".into();
    issues[1].resolved = Some(utc("2024-01-02T00:00:00Z"));
    issues[2].parent_id = Some("10001".into());
    issues[2].assignee = Some(1);
    JiraData {
        user_time_zone: tz.into(),
        users: vec![
            JiraUser {
                account_id: "acc-0".into(),
                name: "ann".into(),
                display_name: "Ann".into(),
                email: "sim@example.com".into(),
                time_zone: tz.into(),
            },
            JiraUser {
                account_id: "acc-1".into(),
                name: "bob".into(),
                display_name: "Bob".into(),
                email: "bob@example.com".into(),
                time_zone: tz.into(),
            },
        ],
        statuses: vec![
            JiraStatus {
                id: "1".into(),
                name: "Open".into(),
                category_key: "new".into(),
            },
            JiraStatus {
                id: "3".into(),
                name: "In Progress".into(),
                category_key: "indeterminate".into(),
            },
        ],
        issue_types: Vec::new(),
        projects: vec![
            JiraProject {
                id: "100".into(),
                key: "ALPHA".into(),
                name: "Alpha".into(),
            },
            JiraProject {
                id: "200".into(),
                key: "BETA".into(),
                name: "Beta Project".into(),
            },
            JiraProject {
                id: "300".into(),
                key: "GAMMA".into(),
                name: "Gamma".into(),
            },
        ],
        issues,
    }
}

fn env(data: &JiraData) -> Env<'_> {
    Env {
        data,
        tz: data.user_time_zone.parse().unwrap_or(Tz::UTC),
        now: utc("2024-02-01T12:00:00Z"),
        current_user: Some(0),
    }
}

fn compile(data: &JiraData, q: &str) -> Query {
    jql::compile(q, &env(data)).unwrap_or_else(|e| panic!("{q}: {e}"))
}

fn err(data: &JiraData, q: &str) -> String {
    match jql::compile(q, &env(data)) {
        Ok(parsed) => panic!("{q} compiled: {parsed:?}"),
        Err(e) => e.0,
    }
}

/// Keys of the matches, in result order.
fn run(data: &JiraData, q: &str) -> Vec<String> {
    let query = compile(data, q);
    let mut hits: Vec<&JiraIssue> = data.issues.iter().filter(|i| query.matches(i)).collect();
    hits.sort_by(|a, b| query.cmp(a, b));
    hits.iter().map(|i| i.key.clone()).collect()
}

/// The instant a date clause compiled to.
fn instant(data: &JiraData, q: &str) -> DateTime<Utc> {
    match compile(data, q).filter {
        Some(Filter::Pred(Pred::Date(_, _, at))) => at,
        other => panic!("{q}: not a date clause: {other:?}"),
    }
}

#[test]
fn parses_the_sync_query() {
    let p = jql::parse("project in (ALPHA, \"BETA\") AND updated >= '2024/01/02 08:00' ORDER BY updated ASC, key DESC")
        .unwrap();
    assert_eq!(
        p.clause,
        Some(Expr::And(vec![
            Expr::Clause {
                field: "project".into(),
                op: Op::In,
                operand: Operand::List(vec![Value::Text("ALPHA".into()), Value::Text("BETA".into())]),
            },
            Expr::Clause {
                field: "updated".into(),
                op: Op::Ge,
                operand: Operand::One(Value::Text("2024/01/02 08:00".into())),
            },
        ]))
    );
    assert_eq!(p.order, vec![("updated".to_string(), false), ("key".to_string(), true)]);
}

#[test]
fn keywords_are_case_insensitive_and_symbols_work() {
    let d = data("UTC");
    let a = compile(&d, "PROJECT = alpha and UPDATED > 1704067200000 order BY Id desc");
    let b = compile(&d, "project=ALPHA&&updated>1704067200000 ORDER BY id DESC");
    assert_eq!(a, b);
    assert_eq!(
        a.order,
        vec![SortKey {
            field: SortField::Id,
            desc: true
        }]
    );
    let c = compile(&d, "Project In (alpha) aNd NoT project NOT IN (beta)");
    assert!(c.is_bounded());
}

#[test]
fn quoted_strings_and_escapes() {
    let p = jql::parse(r#"summary ~ "say \"hi\"" or project = 'it''s'"#);
    // `'it'` then `'s'` — two strings in a row is a syntax error in JQL.
    assert!(p.is_err());
    let p = jql::parse(r#"summary ~ "say \"hi\" (now)""#).unwrap();
    assert_eq!(
        p.clause,
        Some(Expr::Clause {
            field: "summary".into(),
            op: Op::Like,
            operand: Operand::One(Value::Text("say \"hi\" (now)".into())),
        })
    );
}

#[test]
fn project_by_key_id_or_name() {
    let d = data("UTC");
    assert_eq!(
        run(&d, "project = ALPHA ORDER BY key ASC"),
        ["ALPHA-1", "ALPHA-2", "ALPHA-9", "ALPHA-10"]
    );
    assert_eq!(run(&d, "project = 200"), ["BETA-1"]);
    assert_eq!(run(&d, "project = \"Beta Project\""), ["BETA-1"]);
    assert_eq!(run(&d, "project in (beta, 300) ORDER BY key"), ["BETA-1", "GAMMA-1"]);
    assert_eq!(run(&d, "project != ALPHA ORDER BY key"), ["BETA-1", "GAMMA-1"]);
    assert_eq!(run(&d, "project not in (ALPHA, BETA)"), ["GAMMA-1"]);
}

#[test]
fn date_literals_are_read_in_the_user_time_zone() {
    let d = data("Asia/Shanghai");
    let expect = utc("2024-01-02T00:00:00Z");
    assert_eq!(instant(&d, "updated >= '2024/01/02 08:00'"), expect);
    assert_eq!(instant(&d, "updated >= \"2024-01-02 08:00\""), expect);
    assert_eq!(instant(&d, "updated >= 2024-01-02"), utc("2024-01-01T16:00:00Z"));
    assert_eq!(instant(&d, "updated >= '2024/01/02'"), utc("2024-01-01T16:00:00Z"));
    let ny = data("America/New_York");
    assert_eq!(
        instant(&ny, "created < '2024/07/01 09:30'"),
        utc("2024-07-01T13:30:00Z")
    );
    // Epoch milliseconds are absolute.
    assert_eq!(instant(&d, "updated >= 1704067200000"), utc("2024-01-01T00:00:00Z"));
    assert_eq!(instant(&ny, "updated >= 1704067200000"), utc("2024-01-01T00:00:00Z"));
    // Relative periods and functions count from the simulated present.
    assert_eq!(instant(&d, "updated >= -5d"), utc("2024-01-27T12:00:00Z"));
    assert_eq!(instant(&d, "updated >= '-1w 2d'"), utc("2024-01-23T12:00:00Z"));
    assert_eq!(instant(&d, "updated <= now()"), utc("2024-02-01T12:00:00Z"));
    assert_eq!(instant(&d, "updated >= startOfDay()"), utc("2024-01-31T16:00:00Z"));
}

#[test]
fn date_comparisons() {
    let d = data("UTC");
    // updated: A1 01-05, A2 01-02, B1 01-05, A10 01-01T23:59:59.999, A9 01-06, G1 01-06
    assert_eq!(
        run(&d, "updated >= '2024/01/05 00:00' ORDER BY key"),
        ["ALPHA-1", "ALPHA-9", "BETA-1", "GAMMA-1"]
    );
    assert_eq!(
        run(&d, "updated > '2024/01/05 00:00' ORDER BY key"),
        ["ALPHA-9", "GAMMA-1"]
    );
    assert_eq!(run(&d, "updated < '2024/01/02' ORDER BY key"), ["ALPHA-10"]);
    assert_eq!(run(&d, "updated <= '2024/01/02' ORDER BY key"), ["ALPHA-2", "ALPHA-10"]);
    assert_eq!(
        run(&d, "created >= 1704326400000 and created <= 1704326400000 ORDER BY key"),
        ["ALPHA-9", "ALPHA-10", "GAMMA-1"]
    );
    // The same instant in Shanghai: literals shift, epoch ms do not.
    let sh = data("Asia/Shanghai");
    assert_eq!(
        run(&sh, "updated <= '2024/01/02 08:00' ORDER BY key"),
        ["ALPHA-2", "ALPHA-10"]
    );
    assert_eq!(run(&sh, "updated < '2024/01/02 08:00'"), ["ALPHA-10"]);
}

#[test]
fn and_or_not_and_parentheses() {
    let d = data("UTC");
    assert_eq!(
        run(
            &d,
            "project = BETA OR project = GAMMA AND updated < 2024-01-01 ORDER BY key"
        ),
        ["BETA-1"]
    );
    assert_eq!(
        run(&d, "(project = BETA OR project = GAMMA) AND updated >= 2024-01-06"),
        ["GAMMA-1"]
    );
    assert_eq!(
        run(&d, "project = ALPHA AND NOT updated >= 2024-01-03 ORDER BY key"),
        ["ALPHA-2", "ALPHA-10"]
    );
    assert_eq!(
        run(&d, "project = ALPHA AND !(key = ALPHA-1) ORDER BY key"),
        ["ALPHA-2", "ALPHA-9", "ALPHA-10"]
    );
}

#[test]
fn other_fields() {
    let d = data("UTC");
    assert_eq!(run(&d, "status = 'in progress'"), ["ALPHA-2"]);
    assert_eq!(run(&d, "statusCategory = indeterminate"), ["ALPHA-2"]);
    assert_eq!(run(&d, "statusCategory != 'In Progress'").len(), 5);
    assert_eq!(run(&d, "resolution = Unresolved").len(), 5);
    assert_eq!(run(&d, "resolution is not EMPTY"), ["ALPHA-2"]);
    assert_eq!(run(&d, "resolved >= 2024-01-01"), ["ALPHA-2"]);
    assert_eq!(run(&d, "parent = ALPHA-1"), ["BETA-1"]);
    assert_eq!(run(&d, "parent is not empty"), ["BETA-1"]);
    assert_eq!(run(&d, "assignee = bob"), ["BETA-1"]);
    assert_eq!(run(&d, "assignee is EMPTY").len(), 5);
    assert_eq!(run(&d, "reporter = currentUser()").len(), 6);
    assert_eq!(run(&d, "key in (ALPHA-9, 10006) ORDER BY key"), ["ALPHA-9", "GAMMA-1"]);
    assert_eq!(run(&d, "key > ALPHA-2 ORDER BY key"), ["ALPHA-9", "ALPHA-10"]);
    assert_eq!(run(&d, "id >= 10005 ORDER BY id"), ["ALPHA-9", "GAMMA-1"]);
}

#[test]
fn order_by_several_keys_with_ties_broken_by_id() {
    let d = data("UTC");
    // updated ASC, then id: A10 (01-01), A2 (01-02), A1/B1 (01-05, id 10001 < 10003), A9/G1 (01-06).
    assert_eq!(
        run(&d, "project in (ALPHA, BETA, GAMMA) ORDER BY updated ASC"),
        ["ALPHA-10", "ALPHA-2", "ALPHA-1", "BETA-1", "ALPHA-9", "GAMMA-1"]
    );
    // DESC reverses the key, the id tie-break stays ascending.
    assert_eq!(
        run(&d, "project in (ALPHA, BETA, GAMMA) ORDER BY updated DESC"),
        ["ALPHA-9", "GAMMA-1", "ALPHA-1", "BETA-1", "ALPHA-2", "ALPHA-10"]
    );
    assert_eq!(
        run(&d, "project in (ALPHA, BETA, GAMMA) ORDER BY created DESC, key ASC"),
        ["ALPHA-9", "ALPHA-10", "GAMMA-1", "BETA-1", "ALPHA-2", "ALPHA-1"]
    );
    // No ORDER BY: id ascending.
    assert_eq!(
        run(&d, "project in (GAMMA, ALPHA)"),
        ["ALPHA-1", "ALPHA-2", "ALPHA-10", "ALPHA-9", "GAMMA-1"]
    );
}

#[test]
fn unbounded_queries() {
    let d = data("UTC");
    assert!(!compile(&d, "").is_bounded());
    assert!(!compile(&d, "   ").is_bounded());
    assert!(!compile(&d, "ORDER BY key DESC").is_bounded());
    assert!(!compile(&d, "order by updated").is_bounded());
    assert!(compile(&d, "project = ALPHA order by updated").is_bounded());
}

#[test]
fn syntax_errors_read_like_jira() {
    let d = data("UTC");
    let cases = [
        ("project = 'ALPHA", "The quoted string 'ALPHA' has not been completed."),
        ("project ALPHA", "Expecting operator but got 'ALPHA'."),
        ("project in (ALPHA, BETA", "Expecting ')' before the end of the query."),
        (
            "project = ALPHA foo = 1",
            "Expecting either 'OR' or 'AND' but got 'foo'.",
        ),
        (
            "project = ALPHA AND",
            "Expecting a field name before the end of the query.",
        ),
        (
            "project =",
            "Expecting either a value, list or function before the end of the query.",
        ),
        ("project = )", "Expecting either a value, list or function but got ')'."),
        (
            "project = ALPHA ORDER BY key sideways",
            "Expecting either 'ASC' or 'DESC' but got 'sideways'.",
        ),
        ("project = A%B", "The character '%' is a reserved JQL character."),
        ("updated is 5", "Expecting 'EMPTY' but got '5'."),
        ("(project = ALPHA", "Expecting ')' before the end of the query."),
    ];
    for (q, want) in cases {
        let e = err(&d, q);
        assert!(e.starts_with("Error in the JQL Query: "), "{q}: {e}");
        assert!(e.contains(want), "{q}: {e}");
    }
    assert!(err(&d, "project = ALPHA foo").contains("(line 1, character 17)"));
}

#[test]
fn semantic_errors_read_like_jira() {
    let d = data("UTC");
    assert_eq!(
        err(&d, "project = NOPE"),
        "The value 'NOPE' does not exist for the field 'project'."
    );
    assert_eq!(
        err(&d, "project in (ALPHA, NOPE)"),
        "The value 'NOPE' does not exist for the field 'project'."
    );
    assert_eq!(
        err(&d, "colour = red"),
        "Field 'colour' does not exist or you do not have permission to view it."
    );
    assert!(err(&d, "updated >= '2024/13/45'").starts_with("Date value '2024/13/45' for field 'updated' is invalid."));
    assert_eq!(
        err(&d, "project = ALPHA ORDER BY summary"),
        "Not able to sort using field 'summary'."
    );
    assert_eq!(
        err(&d, "project ~ ALPHA"),
        "The operator '~' is not supported by the 'project' field."
    );
    assert!(err(&d, "key = ALPHA-99").contains("does not exist"));
    assert!(err(&d, "project = ALPHA AND summary ~ x").contains("not supported"));
}

#[test]
fn clause_shapes_compile_as_expected() {
    let d = data("UTC");
    let q = compile(&d, "project in (ALPHA, BETA) and updated >= 1704067200000");
    assert_eq!(
        q.filter,
        Some(Filter::And(vec![
            Filter::Pred(Pred::Project(vec!["100".into(), "200".into()])),
            Filter::Pred(Pred::Date(
                DateField::Updated,
                Cmp::Ge,
                Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
            )),
        ]))
    );
}

#[test]
fn cursors_round_trip_and_resume_after_the_last_issue() {
    let d = data("UTC");
    let q = compile(&d, "project in (ALPHA, BETA, GAMMA) ORDER BY updated ASC, key DESC");
    let mut all: Vec<&JiraIssue> = d.issues.iter().filter(|i| q.matches(i)).collect();
    all.sort_by(|a, b| q.cmp(a, b));
    for (i, issue) in all.iter().enumerate() {
        let c = q.cursor_of(issue);
        let back = Cursor::decode(&c.encode(), &q.order).unwrap();
        assert_eq!(back, c);
        let after: Vec<&str> = all
            .iter()
            .filter(|x| q.cmp_cursor(x, &back) == std::cmp::Ordering::Greater)
            .map(|x| x.key.as_str())
            .collect();
        let expect: Vec<&str> = all[i + 1..].iter().map(|x| x.key.as_str()).collect();
        assert_eq!(after, expect);
    }
    let other = compile(&d, "project = ALPHA ORDER BY id");
    let c = q.cursor_of(all[0]).encode();
    assert!(Cursor::decode(&c, &other.order).is_none());
    assert!(Cursor::decode("garbage", &q.order).is_none());
}
