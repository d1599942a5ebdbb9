//! Our JSON has (at least) the keys real Jira sent: recorded DevLake rows vs. simulator output,
//! compared recursively on the parts a sync reads.

use serde_json::{Map, Value};

use crate::{BIG, Sim, is_jira_time, recorded};

/// Keys seen in the recordings that the simulator deliberately leaves out:
/// `historyMetadata` (only on automation-made histories), `tmpFromAccountId`/`tmpToAccountId`
/// (extra user ids on Cloud assignee items), `scope` (team-managed project statuses).
const IGNORED: &[&str] = &["historyMetadata", "tmpFromAccountId", "tmpToAccountId", "scope"];
/// Arrays the simulated dataset never fills (the generator models no labels on issues).
const EMPTY_OK: &[&str] = &["issue.fields.labels[]"];

/// The issue fields a sync reads (the recordings carry ~150 fields; we compare these).
const ESSENTIAL_FIELDS: &[&str] = &[
    "summary",
    "status",
    "issuetype",
    "project",
    "priority",
    "assignee",
    "reporter",
    "creator",
    "created",
    "updated",
    "resolutiondate",
    "resolution",
    "parent",
    "customfield_10016",
    "labels",
];

/// One value with the union of the keys of all `values` (arrays collapse to one element).
fn union(values: &[Value]) -> Value {
    let mut acc = Value::Null;
    for v in values {
        merge(&mut acc, v);
    }
    acc
}

fn merge(into: &mut Value, v: &Value) {
    if into.is_null() {
        *into = match v {
            Value::Array(_) => Value::Array(Vec::new()),
            _ => return *into = v.clone(),
        };
    }
    match (into, v) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, bv) in b {
                match a.get_mut(k) {
                    Some(av) => merge(av, bv),
                    None => {
                        a.insert(k.clone(), bv.clone());
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            let mut one = Value::Null;
            for e in a.iter().chain(b) {
                merge(&mut one, e);
            }
            *a = if one.is_null() { Vec::new() } else { vec![one] };
        }
        _ => {}
    }
}

/// Paths of keys present in `recorded` but missing (or never filled) in `ours`.
fn missing(recorded: &Value, ours: &Value, path: &str, out: &mut Vec<String>) {
    match (recorded, ours) {
        (Value::Object(r), Value::Object(o)) => {
            for (k, rv) in r {
                if IGNORED.contains(&k.as_str()) {
                    continue;
                }
                let p = format!("{path}.{k}");
                match o.get(k) {
                    None => out.push(p),
                    Some(ov) => missing(rv, ov, &p, out),
                }
            }
        }
        (Value::Object(_), _) => out.push(format!("{path} (an object when recorded, {ours} here)")),
        (Value::Array(r), Value::Array(o)) => {
            if let Some(re) = r.first() {
                match o.first() {
                    Some(oe) => missing(re, oe, &format!("{path}[]"), out),
                    None if EMPTY_OK.contains(&format!("{path}[]").as_str()) => {}
                    None => out.push(format!("{path}[] (empty here)")),
                }
            }
        }
        _ => {}
    }
}

fn assert_contains_recorded(what: &str, recorded: &Value, ours: &Value) {
    let mut out = Vec::new();
    missing(recorded, ours, what, &mut out);
    assert!(
        out.is_empty(),
        "keys real Jira sends but the simulator does not:\n{}",
        out.join("\n")
    );
}

/// An issue cut down to its envelope and the essential fields.
fn essential(issue: &Value) -> Value {
    let mut o = issue.as_object().unwrap().clone();
    let fields: Map<String, Value> = o["fields"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| ESSENTIAL_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    o.insert("fields".into(), Value::Object(fields));
    Value::Object(o)
}

fn times_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if let (true, Some(s)) = (
                    ["created", "updated", "resolutiondate"].contains(&k.as_str()),
                    x.as_str(),
                ) {
                    out.push(s.to_string());
                }
                times_in(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| times_in(x, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_issues_changelogs_and_statuses_have_the_recorded_keys() {
    let sim = Sim::start().await;
    let rec_issues: Vec<Value> = recorded("_raw_jira_api_issues.csv").iter().map(essential).collect();
    assert_eq!(rec_issues.len(), 33);
    let (_, page) = sim
        .cloud_get(
            "/rest/api/3/search/jql",
            &[
                ("jql", "project in (ALPHA, BETA, GAMMA)"),
                ("fields", "*all"),
                ("expand", "changelog"),
                ("maxResults", "100"),
            ],
        )
        .await;
    let ours = page["issues"].as_array().unwrap();
    assert_eq!(ours.len(), 100);
    let rec = union(&rec_issues);
    let our = union(ours);
    // Recursively: fields.status.statusCategory, changelog.histories[].items[], author, …
    assert_contains_recorded("issue", &rec, &our);
    for path in [
        "/fields/status/statusCategory",
        "/changelog/histories/0/items/0",
        "/changelog/histories/0/author",
        "/fields/parent/fields/status",
    ] {
        assert!(rec.pointer(path).is_some_and(Value::is_object), "recorded lacks {path}");
        assert!(our.pointer(path).is_some_and(Value::is_object), "ours lacks {path}");
    }
    // Cloud users are accountId users.
    let author = our.pointer("/changelog/histories/0/author").unwrap();
    assert!(author.get("name").is_none() && author.get("key").is_none());
    // Timestamps: same format as recorded.
    let (mut rt, mut ot) = (Vec::new(), Vec::new());
    times_in(&Value::Array(rec_issues.clone()), &mut rt);
    times_in(&page, &mut ot);
    assert!(rt.len() > 10 && ot.len() > 100);
    for t in rt.iter().chain(&ot) {
        assert!(is_jira_time(t), "{t}");
    }

    // /issue/{id}/changelog values.
    let rec = union(&recorded("_raw_jira_api_issue_changelogs.csv"));
    let (_, body) = sim.cloud_get(&format!("/rest/api/3/issue/{BIG}/changelog"), &[]).await;
    let our = union(body["values"].as_array().unwrap());
    assert_contains_recorded("changelog", &rec, &our);

    // /status.
    let rec = union(&recorded("_raw_jira_api_status.csv"));
    let (_, body) = sim.cloud_get("/rest/api/3/status", &[]).await;
    let our = union(body.as_array().unwrap());
    assert_contains_recorded("status", &rec, &our);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_center_issues_and_users_have_the_recorded_keys() {
    let sim = Sim::start().await;
    let rec_issues: Vec<Value> = recorded("_raw_jira_api_issue_relationships.csv")
        .iter()
        .map(essential)
        .collect();
    assert_eq!(rec_issues.len(), 22);
    let (_, page) = sim
        .dc_get(
            "/rest/api/2/search",
            &[
                ("jql", "project = ALPHA"),
                ("expand", "changelog"),
                ("maxResults", "100"),
            ],
        )
        .await;
    let ours = page["issues"].as_array().unwrap();
    let rec = union(&rec_issues);
    let our = union(ours);
    assert_contains_recorded("dc issue", &rec, &our);
    // DC users: name/key/emailAddress/…, no accountId — in fields and as changelog authors.
    for path in ["/fields/assignee", "/fields/reporter", "/changelog/histories/0/author"] {
        let r = rec.pointer(path).unwrap();
        let o = our.pointer(path).unwrap();
        assert!(r.get("name").is_some() && r.get("accountId").is_none(), "{path}: {r}");
        assert!(o.get("name").is_some() && o.get("accountId").is_none(), "{path}: {o}");
        assert_contains_recorded(path, r, o);
    }
    sim.stop().await;
}

#[test]
fn the_key_comparison_can_fail() {
    let rec = serde_json::json!({ "a": { "b": [{ "c": 1, "d": 2 }] }, "scope": 1 });
    let ours = serde_json::json!({ "a": { "b": [{ "c": 1 }] } });
    let mut out = Vec::new();
    missing(&rec, &ours, "x", &mut out);
    assert_eq!(out, ["x.a.b[].d"]);
    let ours = serde_json::json!({ "a": null });
    let mut out = Vec::new();
    missing(&rec, &ours, "x", &mut out);
    assert_eq!(out.len(), 1);
}
