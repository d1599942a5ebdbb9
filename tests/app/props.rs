//! Property tests of everything that reads untrusted input: Jira and GitHub answers (generated
//! and mutated JSON), rate-limit and `Link` headers, the JQL the sync renders (read back with
//! the simulator's JQL parser), and the flow-resolution rules. Case counts are small so the
//! suite stays fast; a failure prints the shrunk input.

use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use pulse_etl::domain::flow::{
    FlowResolver, IssueTypeMapping, Resolution, StatusMapping, Step, StepCategory, WorkCategory,
};
use pulse_etl::domain::integration::{glob_match, jql_is_self_contained};
use pulse_etl::integrations::github::models as gh;
use pulse_etl::integrations::github::rows;
use pulse_etl::integrations::github::session::link_next;
use pulse_etl::integrations::jira::models as jira;
use pulse_etl::integrations::jira::sync::search_jql;
use pulse_etl::integrations::request::rate_limit_wait;
use pulse_sim::jira::jql;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Strings a hostile or broken upstream might send where we expect something else.
fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::sample::select(vec![
            "",
            " ",
            "inf",
            "-inf",
            "NaN",
            "1e400",
            "-1",
            "0",
            "99999999999999999999",
            "2024-01-02T03:04:05.000+0800",
            "2024-02-30T25:61:00Z",
            "9999-12-31T23:59:59Z",
            "+275760-09-13T00:00:00Z",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "null",
            "[bot]",
            "PAY-1",
            "ÄÖ-12",
            "<script>",
            "\u{0}",
            "status",
        ])
        .prop_map(String::from),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        nasty_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((nasty_text(), inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer in `v` (pre-order), the root excluded.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    Replace(prop::sample::Index, Value),
    Remove(prop::sample::Index),
}

fn arb_mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let one = prop_oneof![
        3 => (any::<prop::sample::Index>(), arb_json()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        1 => any::<prop::sample::Index>().prop_map(Mutation::Remove),
    ];
    prop::collection::vec(one, 1..4)
}

fn mutate(mut doc: Value, mutations: &[Mutation]) -> Value {
    for m in mutations {
        let mut ps = Vec::new();
        pointers(&doc, String::new(), &mut ps);
        if ps.is_empty() {
            break;
        }
        match m {
            Mutation::Replace(i, v) => {
                if let Some(slot) = doc.pointer_mut(i.get(&ps).as_str()) {
                    *slot = v.clone();
                }
            }
            Mutation::Remove(i) => {
                let p: &String = i.get(&ps);
                let (parent, key) = p.rsplit_once('/').unwrap();
                match doc.pointer_mut(parent) {
                    Some(Value::Object(m)) => {
                        m.remove(&key.replace("~1", "/").replace("~0", "~"));
                    }
                    Some(Value::Array(a)) => {
                        if let Ok(i) = key.parse::<usize>()
                            && i < a.len()
                        {
                            a.remove(i);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    doc
}

fn jira_page() -> Value {
    json!({
        "issues": [{
            "id": "10001", "key": "PAY-1",
            "fields": {
                "summary": "Fix it", "customfield_10016": 3.5,
                "status": {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}},
                "issuetype": {"id": "1", "name": "Bug"},
                "project": {"id": "100", "key": "PAY", "name": "Payments"},
                "priority": {"name": "High"},
                "assignee": {"accountId": "a1", "displayName": "Ann"},
                "reporter": {"name": "bob", "key": "bob"},
                "created": "2024-01-02T03:04:05.000+0800", "updated": "2024-01-03T03:04:05.000+0000",
                "resolutiondate": null, "parent": {"id": "10000", "key": "PAY-0"}
            },
            "changelog": {"startAt": 0, "maxResults": 1, "total": 1, "histories": [{
                "id": "5", "author": {"accountId": "a1"}, "created": "2024-01-02T05:00:00.000+0800",
                "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "1",
                           "fromString": "To Do", "to": "3", "toString": "In Progress"}]
            }]}
        }],
        "nextPageToken": "abc", "isLast": false, "startAt": 0, "maxResults": 100, "total": 1
    })
}

/// Reads a Jira page as the sync does, touching every derived value.
fn read_jira(bytes: &[u8]) {
    if let Ok(page) = serde_json::from_slice::<jira::CloudSearchPage>(bytes) {
        for issue in &page.issues {
            let f = &issue.fields;
            let _ = (
                f.number("customfield_10016"),
                f.assignee.as_ref().and_then(|a| a.label()),
            );
            if let Some(c) = &issue.changelog {
                let _ = c.is_complete();
                for h in &c.histories {
                    let _ = (
                        h.items.iter().filter(|i| i.is_status()).count(),
                        h.author.as_ref().and_then(|a| a.label()),
                    );
                }
            }
        }
    }
    let _ = serde_json::from_slice::<jira::DcSearchPage>(bytes);
    let _ = serde_json::from_slice::<jira::ChangelogPage>(bytes);
    let _ = serde_json::from_slice::<jira::BulkChangelogs>(bytes);
}

fn github_page() -> Value {
    const PAGE: &str = r#"{
      "data": {
        "rateLimit": {"cost": 1, "remaining": 4999, "resetAt": "2024-01-02T05:00:00Z", "limit": 5000},
        "repository": {
          "id": "R1", "isArchived": false, "defaultBranchRef": {"name": "main"},
          "pullRequests": {"pageInfo": {"hasNextPage": true, "endCursor": "Y3Vy"}, "totalCount": 1, "nodes": [{
            "id": "PR1", "number": 7, "title": "PAY-1 fix", "state": "MERGED", "isDraft": false,
            "createdAt": "2024-01-02T03:00:00Z", "updatedAt": "2024-01-03T03:00:00Z",
            "closedAt": "2024-01-03T03:00:00Z", "mergedAt": "2024-01-03T03:00:00Z",
            "author": {"__typename": "User", "login": "ann"},
            "baseRefName": "main", "headRefName": "feature/PAY-2", "additions": 5, "deletions": 1,
            "changedFiles": 2, "mergeCommit": {"oid": "abc"},
            "reviews": {"pageInfo": {"hasNextPage": false}, "nodes": [{"id": "RV1", "state": "APPROVED",
              "submittedAt": "2024-01-02T06:00:00Z", "author": {"login": "bob"}, "commit": {"oid": "abc"},
              "lineComments": {"pageInfo": {"hasNextPage": false, "endCursor": null}, "nodes": [
                {"id": "C2", "createdAt": "2024-01-02T04:30:00Z", "author": {"login": "bob"}}]}}]},
            "commits": {"pageInfo": {"hasNextPage": false}, "nodes": [{"commit": {"oid": "abc",
              "message": "PAY-3 more", "authoredDate": "2024-01-01T03:00:00Z", "committedDate": "2024-01-01T04:00:00Z",
              "author": {"name": "Ann", "email": "a@x", "user": {"login": "ann"}}}}]},
            "comments": {"pageInfo": {"hasNextPage": false, "endCursor": null}, "totalCount": 1, "nodes": [
              {"id": "C1", "createdAt": "2024-01-02T04:00:00Z", "author": {"__typename": "Bot", "login": "ci"}}]}
          }]},
          "deployments": {"pageInfo": {"hasNextPage": false}, "nodes": [{"id": "D1", "databaseId": 9,
            "environment": "production", "createdAt": "2024-01-03T04:00:00Z", "commitOid": "abc",
            "ref": {"name": "main"}, "statuses": {"pageInfo": {"hasNextPage": false}, "nodes": [
              {"state": "SUCCESS", "createdAt": "2024-01-03T05:00:00Z"}]}}]},
          "releases": {"pageInfo": {"hasNextPage": false}, "nodes": [{"databaseId": 3, "tagName": "v1",
            "isDraft": false, "isPrerelease": false, "createdAt": "2024-01-03T04:00:00Z",
            "publishedAt": "2024-01-03T04:30:00Z"}]}
        }
      },
      "errors": [{"type": "RATE_LIMITED", "message": "slow down"}]
    }"#;
    serde_json::from_str(PAGE).unwrap()
}

/// Reads a GitHub GraphQL page as the sync does, down to the rows.
fn read_github(bytes: &[u8]) {
    let Ok(env) = serde_json::from_slice::<gh::Envelope<gh::RepoPageData>>(bytes) else {
        return;
    };
    let _ = env.errors.iter().any(|e| e.is_rate_limit());
    let Some(repo) = env.data.and_then(|d| d.repository) else {
        return;
    };
    let keys: HashSet<String> = ["PAY".to_string()].into();
    if let Some(mut prs) = repo.pull_requests {
        let _ = prs.next().map(str::to_string);
        for pr in prs.take_nodes() {
            let _ = rows::pull_row(rows::FullPull::new(pr), &keys);
        }
    }
    if let Some(mut ds) = repo.deployments {
        for mut d in ds.take_nodes() {
            let statuses = d.statuses.take_nodes();
            let _ = rows::deployment_row(&d, &statuses, "prod*");
        }
    }
    if let Some(mut rs) = repo.releases {
        for r in rs.take_nodes() {
            let _ = rows::release_row(&r);
        }
    }
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn mutated_jira_pages_are_read_or_refused_never_a_panic(m in arb_mutations()) {
        read_jira(&serde_json::to_vec(&mutate(jira_page(), &m)).unwrap());
    }

    #[test]
    fn mutated_github_pages_are_read_or_refused_never_a_panic(m in arb_mutations()) {
        read_github(&serde_json::to_vec(&mutate(github_page(), &m)).unwrap());
    }

    #[test]
    fn arbitrary_json_and_bytes_are_refused_never_a_panic(v in arb_json(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let text = serde_json::to_vec(&v).unwrap();
        read_jira(&text);
        read_github(&text);
        read_jira(&bytes);
        read_github(&bytes);
        let _ = serde_json::from_slice::<Vec<gh::RestRepo>>(&text);
        if let Ok(page) = serde_json::from_slice::<gh::RunsPage>(&text) {
            for r in &page.workflow_runs {
                let _ = rows::run_row(r);
            }
        }
    }

    #[test]
    fn jira_keys_are_found_only_where_they_are(text in nasty_text(), key in "[A-Z][A-Z0-9_]{1,5}-[0-9]{1,4}") {
        let found = rows::jira_keys(&text);
        for (project, k) in &found {
            prop_assert!(text.contains(k) && k.starts_with(project));
        }
        let framed = format!("{text} {key} ");
        prop_assert!(rows::jira_keys(&framed).iter().any(|(_, k)| *k == key));
    }

    #[test]
    fn glob_patterns_never_panic_and_match_themselves(pattern in nasty_text(), text in nasty_text()) {
        let _ = glob_match(&pattern, &text);
        prop_assert!(glob_match("*", &text));
        if !pattern.contains(['*', '?']) {
            prop_assert!(glob_match(&pattern, &pattern.to_uppercase()) || pattern.to_uppercase().to_lowercase() != pattern.to_lowercase());
        }
    }
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        nasty_text(),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        (0u64..7200).prop_map(|n| n.to_string()),
    ]
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn rate_limit_headers_never_panic(
        status in prop::sample::select(vec![200u16, 403, 404, 429, 500, 502, 503]),
        retry_after in proptest::option::of(header_value()),
        reset in proptest::option::of(header_value()),
        remaining in proptest::option::of(header_value()),
        body in nasty_text(),
    ) {
        let mut h = HeaderMap::new();
        for (name, value) in [("retry-after", retry_after), ("x-ratelimit-reset", reset), ("x-ratelimit-remaining", remaining)] {
            if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                h.insert(HeaderName::from_static(name), v);
            }
        }
        let wait = rate_limit_wait(StatusCode::from_u16(status).unwrap(), &h, body.as_bytes());
        if status == 429 {
            prop_assert!(wait.is_some(), "a 429 is always a rate limit");
        }
    }

    #[test]
    fn retry_after_seconds_are_honoured(secs in 0u64..100_000) {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_str(&secs.to_string()).unwrap());
        prop_assert_eq!(rate_limit_wait(StatusCode::TOO_MANY_REQUESTS, &h, b""), Some(std::time::Duration::from_secs(secs)));
    }

    #[test]
    fn link_headers_never_panic(raw in prop::collection::vec(32u8..127, 0..120)) {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_bytes(&raw) {
            h.insert("link", v);
            let _ = link_next(&h);
        }
    }

    #[test]
    fn the_next_link_is_found_among_any_others(
        pages in prop::collection::vec((1u32..10_000, prop::sample::select(vec!["prev", "last", "first"])), 0..4),
        next in 1u32..10_000,
        at in any::<prop::sample::Index>(),
        quoted in any::<bool>(),
    ) {
        let mut parts: Vec<String> = pages
            .iter()
            .map(|(p, rel)| format!("<https://api.github.com/r?page={p}&per_page=100>; rel=\"{rel}\""))
            .collect();
        let target = format!("https://api.github.com/r?page={next}&per_page=100");
        let rel = if quoted { "rel=\"next\"" } else { "rel=next" };
        parts.insert(at.index(parts.len() + 1), format!("<{target}>; {rel}"));
        let mut h = HeaderMap::new();
        h.insert("link", HeaderValue::from_str(&parts.join(", ")).unwrap());
        prop_assert_eq!(link_next(&h), Some(target));
    }
}

fn arb_zone() -> impl Strategy<Value = chrono_tz::Tz> {
    prop::sample::select(vec![
        chrono_tz::UTC,
        chrono_tz::Asia::Shanghai,
        chrono_tz::America::New_York,
        chrono_tz::Europe::Berlin,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Pacific::Chatham,
        chrono_tz::Asia::Kathmandu,
        chrono_tz::America::St_Johns,
    ])
}

fn arb_instant() -> impl Strategy<Value = DateTime<Utc>> {
    // 2000 … 2040, to the second.
    (946_684_800i64..2_208_988_800).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap())
}

/// The `updated >=` bound of a parsed query, read in `zone` the way Jira (and the simulator) read it.
fn updated_bound(parsed: &jql::Parsed, zone: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    fn find(e: &jql::Expr) -> Option<&str> {
        match e {
            jql::Expr::And(parts) => parts.iter().find_map(find),
            jql::Expr::Clause {
                field,
                op: jql::Op::Ge,
                operand: jql::Operand::One(jql::Value::Text(t)),
            } if field.eq_ignore_ascii_case("updated") => Some(t),
            _ => None,
        }
    }
    let text = find(parsed.clause.as_ref()?)?;
    let local = chrono::NaiveDateTime::parse_from_str(text, "%Y/%m/%d %H:%M").ok()?;
    Some(jql::local_to_utc(local, zone))
}

fn is_project_clause(e: &jql::Expr, key: &str) -> bool {
    matches!(e, jql::Expr::Clause { field, op: jql::Op::Eq, operand: jql::Operand::One(jql::Value::Text(t)) }
        if field.eq_ignore_ascii_case("project") && t == key)
}

/// Parentheses balance when `\x` outside quotes is the literal `x` (the other reading of a
/// backslash there; Jira refuses it, and so must the check).
fn balanced_when_backslash_escapes(jql: &str) -> bool {
    let mut depth = 0i32;
    let mut quote = None;
    let mut chars = jql.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0 && quote.is_none()
}

/// Extra JQL as an admin might type it: clauses joined by connectors, some of which try to
/// break out of the parentheses the sync puts around it.
fn arb_extra() -> impl Strategy<Value = String> {
    let clause = prop::sample::select(vec![
        "labels = x",
        "status = \"Done\"",
        "summary ~ \"a ) b\"",
        "summary ~ 'it''s'",
        "assignee is EMPTY",
        "project = SECRET",
        "NOT labels = y",
        "summary ~ \\\"a",
        "summary ~ \"b\\\"c\"",
        "labels = a\\)",
    ]);
    let connector = prop::sample::select(vec![" AND ", " OR ", ") OR (", ") AND (", " OR (", ") OR ", " AND ("]);
    let wrap = prop::sample::select(vec![
        ("", ""),
        ("(", ""),
        ("", ")"),
        ("(", ")"),
        ("\"", ""),
        ("", "'"),
        ("\\\"", ""),
        ("", "\\"),
    ]);
    (clause.clone(), prop::collection::vec((connector, clause), 0..4), wrap).prop_map(|(first, rest, (pre, post))| {
        let mut s = format!("{pre}{first}");
        for (c, cl) in rest {
            s.push_str(c);
            s.push_str(cl);
        }
        s.push_str(post);
        s
    })
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn rendered_jql_reads_back_to_the_same_project_and_bound(
        key in "[A-Z][A-Z0-9_]{0,9}",
        since in proptest::option::of(arb_instant()),
        zone in arb_zone(),
    ) {
        let text = search_jql(&key, since, zone, None);
        let parsed = jql::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e:?}")))?;
        let order: Vec<(String, bool)> = parsed.order.iter().map(|(f, d)| (f.to_ascii_lowercase(), *d)).collect();
        prop_assert_eq!(order, vec![("created".to_string(), false), ("key".to_string(), false)], "{}", text);
        let clause = parsed.clause.as_ref().unwrap();
        let first = match clause {
            jql::Expr::And(parts) => &parts[0],
            other => other,
        };
        prop_assert!(is_project_clause(first, &key), "{}", text);
        match since {
            None => prop_assert!(updated_bound(&parsed, zone).is_none()),
            Some(since) => {
                let bound = updated_bound(&parsed, zone).unwrap();
                // Never later than asked (nothing missed); at most the minute's rounding earlier,
                // or an hour more where a DST change repeats the local hour.
                prop_assert!(bound <= since, "{} read back as {} > {}", text, bound, since);
                prop_assert!(since - bound < Duration::minutes(61), "{} read back as {}", text, bound);
                let local = since.with_timezone(&zone).naive_local();
                if zone.from_local_datetime(&local).single().is_some() {
                    prop_assert!(since - bound < Duration::minutes(1), "{} read back as {}", text, bound);
                }
            }
        }
    }

    #[test]
    fn hostile_project_keys_stay_one_string(key in any::<String>()) {
        let text = search_jql(&key, None, chrono_tz::UTC, None);
        if let Ok(parsed) = jql::parse(&text) {
            let clause = parsed.clause.unwrap();
            let first = match &clause { jql::Expr::And(parts) => &parts[0], other => other };
            prop_assert!(matches!(first, jql::Expr::Clause { field, .. } if field.eq_ignore_ascii_case("project")), "{}", text);
            prop_assert!(!matches!(clause, jql::Expr::Or(_)), "{}", text);
        }
    }

    /// Were a backslash outside quotes an escaped character (`\"` a literal quote, `\)` a
    /// literal parenthesis), accepted extra JQL must still close every parenthesis it opens.
    #[test]
    fn accepted_extra_jql_stays_closed_when_a_backslash_escapes(extra in arb_extra()) {
        if jql_is_self_contained(&extra) {
            prop_assert!(balanced_when_backslash_escapes(&extra), "{}", extra);
        }
    }

    #[test]
    fn accepted_extra_jql_cannot_widen_the_query(extra in arb_extra()) {
        if !jql_is_self_contained(&extra) {
            return Ok(());
        }
        let text = search_jql("PAY", None, chrono_tz::UTC, Some(&extra));
        if let Ok(parsed) = jql::parse(&text) {
            match parsed.clause.unwrap() {
                jql::Expr::And(parts) => prop_assert!(is_project_clause(&parts[0], "PAY"), "{}", text),
                other => prop_assert!(false, "{} parsed as {:?}", text, other),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Flow resolution (DESIGN §9)

const NAMES: [&str; 5] = ["To Do", "In Progress", "Review", "Done", "Blocked"];

fn arb_case(name: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), name.len()).prop_map(move |up| {
        let s: String = name
            .chars()
            .zip(up)
            .map(|(c, u)| {
                if u {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        format!(" {s} ")
    })
}

fn arb_resolver() -> impl Strategy<Value = FlowResolver> {
    let steps = prop::collection::vec((any::<bool>(), 0usize..5), 1..5);
    let types = prop::collection::vec(any::<bool>(), 0..3);
    let mappings = prop::collection::vec(
        (0usize..5, 0usize..6, proptest::option::of(0usize..3), any::<bool>()),
        0..8,
    );
    (steps, types, mappings).prop_map(|(steps, types, mappings)| {
        let cats = StepCategory::ALL;
        let steps: Vec<Step> = steps
            .into_iter()
            .enumerate()
            .map(|(i, (active, c))| Step {
                id: i as i64 + 1,
                name: format!("Step {i}"),
                position: i as i32 * 10,
                category: cats[c % cats.len()],
                is_commitment_point: false,
                active,
            })
            .collect();
        let types: Vec<IssueTypeMapping> = types
            .into_iter()
            .enumerate()
            .map(|(i, active)| IssueTypeMapping {
                id: i as i64 + 1,
                issuetype_from: ["Bug", "Story", "Incident"][i].into(),
                issuetype_to: "x".into(),
                work_category: WorkCategory::Other,
                hierarchy_level: 0,
                active,
            })
            .collect();
        let n_types = types.len();
        let mappings = mappings
            .into_iter()
            .enumerate()
            .map(|(i, (name, step, ty, active))| StatusMapping {
                id: i as i64 + 1,
                status_from: NAMES[name].into(),
                // Step ids past the end are dangling references (rows written around validation).
                flow_step_id: step as i64 + 1,
                issue_type_mapping_id: ty.filter(|t| *t < n_types).map(|t| t as i64 + 1),
                active,
            })
            .collect();
        FlowResolver::new(steps, types, mappings)
    })
}

fn key(r: &Resolution<'_>) -> String {
    match r {
        Resolution::Step { step, mapping } => format!("step {} via {}", step.id, mapping.id),
        other => format!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn resolution_is_total_case_insensitive_and_falls_back_to_the_category(
        resolver in arb_resolver(),
        status in prop::sample::select(NAMES.to_vec()).prop_flat_map(arb_case),
        ty in prop::sample::select(vec!["Bug", "story", "INCIDENT", "Epic"]),
        category in proptest::option::of(prop::sample::select(vec!["new", "indeterminate", "done", "weird"])),
        junk in any::<String>(),
    ) {
        let r = resolver.resolve(&status, ty, category);
        // Case and surrounding spaces do not matter, on the status nor on the type.
        let again = resolver.resolve(&status.trim().to_uppercase(), &ty.to_lowercase(), category);
        prop_assert_eq!(key(&r), key(&again));
        match r {
            Resolution::Step { step, mapping } => {
                prop_assert!(step.active && mapping.active);
                prop_assert_eq!(step.id, mapping.flow_step_id);
                prop_assert!(mapping.status_from.eq_ignore_ascii_case(status.trim()));
                // A per-type mapping wins over the type-less one.
                let t = resolver.issue_type_mapping_any(ty).map(|t| t.id);
                let has_per_type = resolver.status_mappings().iter().any(|m| {
                    m.status_from.eq_ignore_ascii_case(status.trim()) && t.is_some() && m.issue_type_mapping_id == t
                });
                if has_per_type {
                    prop_assert_eq!(mapping.issue_type_mapping_id, t);
                }
            }
            Resolution::Unmapped { fallback } => {
                let type_less = resolver
                    .status_mappings()
                    .iter()
                    .any(|m| m.status_from.eq_ignore_ascii_case(status.trim()) && m.issue_type_mapping_id.is_none());
                prop_assert!(!type_less, "a type-less mapping exists for {:?}", status);
                prop_assert_eq!(fallback, category.and_then(StepCategory::from_jira_category));
            }
            Resolution::Excluded(_) => {}
        }
        // Any text at all resolves to something (a total function).
        let _ = resolver.resolve(&junk, &junk, Some(&junk));
    }
}
