//! The JSON API of the flow configuration.

use serde_json::json;

use super::{Api, seed_issues};
use crate::db_test;
use crate::helpers::{Db, spawn_app};
use crate::jira_sync::{add_jira, run_sync};

async fn version(api: &Api<'_>) -> String {
    api.get("/api/v1/flow").await.1["version"].as_str().unwrap().to_string()
}

async fn steps_are_created_renamed_reordered_and_validated(db: Db) {
    let app = spawn_app(db).await;
    let api = Api::admin(&app).await;
    let (status, all) = api.get("/api/v1/flow/steps").await;
    assert_eq!(status, 200);
    assert!(
        all["steps"].as_array().unwrap().len() >= 8,
        "the default flow is seeded"
    );

    let v0 = version(&api).await;
    let (status, created) = api
        .post(
            "/api/v1/flow/steps",
            json!({"name": "Deploying", "category": "IN_PROGRESS"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let last = all["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["position"].as_i64().unwrap())
        .max()
        .unwrap();
    assert!(created["position"].as_i64().unwrap() > last, "new steps go last");
    assert_ne!(version(&api).await, v0, "the version changes with the configuration");

    for (body, field) in [
        (json!({"name": "DEPLOYING", "category": "IN_PROGRESS"}), "name"),
        (json!({"name": "  ", "category": "DONE"}), "name"),
        (json!({"name": "X", "category": "DOING"}), "category"),
        (
            json!({"name": "Y", "category": "DONE", "is_commitment_point": true}),
            "is_commitment_point",
        ),
    ] {
        let (status, answer) = api.post("/api/v1/flow/steps", body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["fields"][0]["field"], field, "{body}: {answer}");
        assert!(answer["error"].is_string());
    }

    let (status, renamed) = api
        .put(
            &format!("/api/v1/flow/steps/{id}"),
            json!({"name": "Deploy", "category": "waiting", "position": 5}),
        )
        .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(
        (
            renamed["name"].as_str(),
            renamed["category"].as_str(),
            renamed["position"].as_i64()
        ),
        (Some("Deploy"), Some("WAITING"), Some(5))
    );
    let (_, all) = api.get("/api/v1/flow/steps").await;
    assert_eq!(all["steps"][0]["name"], "Deploy", "ordered by position");

    // One commitment point: marking another moves it.
    let todo = api.step("To Do").await;
    let doing = api.step("In Progress").await;
    for s in [todo, doing] {
        let (status, _) = api
            .put(&format!("/api/v1/flow/steps/{s}"), json!({"is_commitment_point": true}))
            .await;
        assert_eq!(status, 200);
    }
    let (_, all) = api.get("/api/v1/flow/steps").await;
    let marked: Vec<i64> = all["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["is_commitment_point"] == true)
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(marked, [doing]);

    // A step that mappings use is deactivated only through the guided flow.
    let (status, answer) = api
        .put(&format!("/api/v1/flow/steps/{doing}"), json!({"active": false}))
        .await;
    assert_eq!((status, answer["fields"][0]["field"].as_str()), (422, Some("active")));
    let (status, _) = api
        .put(&format!("/api/v1/flow/steps/{id}"), json!({"active": false}))
        .await;
    assert_eq!(status, 200, "an unused step deactivates directly");
    assert_eq!(api.get("/api/v1/flow/steps/999999").await.0, 404);

    // A row as GET returns it can be sent back with a change.
    let (_, mut row) = api.get(&format!("/api/v1/flow/steps/{id}")).await;
    row["name"] = json!("Deploy again");
    let (status, saved) = api.put(&format!("/api/v1/flow/steps/{id}"), row).await;
    assert_eq!((status, saved["name"].as_str()), (200, Some("Deploy again")), "{saved}");
    let (status, _) = api
        .put(&format!("/api/v1/flow/steps/{id}"), json!({"nmae": "typo"}))
        .await;
    assert_eq!(status, 422, "unknown fields are refused");
}
db_test!(steps_are_created_renamed_reordered_and_validated);

async fn status_mappings_match_case_insensitively_and_apply_at_once(db: Db) {
    let app = spawn_app(db).await;
    let api = Api::admin(&app).await;
    seed_issues(
        &app,
        &[
            ("IN PROGRESS", "story", "indeterminate"),
            ("in progress", "STORY", "indeterminate"),
            ("Parked", "Story", "indeterminate"),
            ("Parked", "Bug", "indeterminate"),
            ("parked", "Spike-ish", "indeterminate"),
        ],
    )
    .await;
    let unmapped = api.unmapped().await;
    let statuses = unmapped["statuses"].as_array().unwrap();
    assert_eq!(
        statuses.len(),
        1,
        "IN PROGRESS = In Progress; Parked = parked: {unmapped}"
    );
    assert_eq!(statuses[0]["issues"], 3);
    assert_eq!(unmapped["issue_types"][0]["name"], "Spike-ish");

    let doing = api.step("In Progress").await;
    let (_, impact) = api.get(&format!("/api/v1/flow/steps/{doing}/impact")).await;
    assert_eq!(impact["issues"], 2, "{impact}");

    let waiting = api.step("Waiting").await;
    let v0 = version(&api).await;
    let (status, m) = api
        .post(
            "/api/v1/flow/status-mappings",
            json!({"status_from": "PARKED", "flow_step_id": waiting}),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    assert_ne!(version(&api).await, v0);
    assert_eq!(
        api.unmapped().await["statuses"].as_array().unwrap().len(),
        0,
        "no re-sync needed"
    );
    let (_, impact) = api.get(&format!("/api/v1/flow/steps/{waiting}/impact")).await;
    assert_eq!(impact["issues"], 3);

    let (status, answer) = api
        .post(
            "/api/v1/flow/status-mappings",
            json!({"status_from": "parked ", "flow_step_id": doing}),
        )
        .await;
    assert_eq!(
        (status, answer["fields"][0]["field"].as_str()),
        (422, Some("status_from")),
        "{answer}"
    );
    let (status, answer) = api
        .post(
            "/api/v1/flow/status-mappings",
            json!({"status_from": "", "flow_step_id": 999999}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(answer["fields"].as_array().unwrap().len(), 2, "{answer}");

    // Moving the mapping moves the issues; deleting it changes the version too.
    let id = m["id"].as_i64().unwrap();
    let (status, _) = api
        .put(
            &format!("/api/v1/flow/status-mappings/{id}"),
            json!({"flow_step_id": doing}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, impact) = api.get(&format!("/api/v1/flow/steps/{doing}/impact")).await;
    assert_eq!(impact["issues"], 5);
    let (_, impact) = api.get(&format!("/api/v1/flow/status-mappings/{id}/impact")).await;
    assert_eq!(impact["issues"], 3);
    let v1 = version(&api).await;
    // Nothing references a status mapping: a target is refused rather than ignored.
    let (status, answer) = api
        .post(
            &format!("/api/v1/flow/status-mappings/{id}/delete"),
            json!({"reassign_to": doing}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        answer["error"],
        "nothing references a status mapping, so there is nothing to reassign: its issues re-resolve by themselves (see the impact)"
    );
    assert_eq!(version(&api).await, v1, "nothing removed");
    let (status, _) = api
        .post(&format!("/api/v1/flow/status-mappings/{id}/delete"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_ne!(version(&api).await, v1);
    assert_eq!(api.unmapped().await["statuses"][0]["issues"], 3);
}
db_test!(status_mappings_match_case_insensitively_and_apply_at_once);

async fn issue_types_get_their_own_flow(db: Db) {
    let app = spawn_app(db).await;
    let api = Api::admin(&app).await;
    seed_issues(
        &app,
        &[
            ("Resolved", "Bug", "done"),
            ("resolved", "BUG", "done"),
            ("Resolved", "Story", "done"),
        ],
    )
    .await;
    let qa = api.step("QA").await;
    let done = api.step("Done").await;
    let bug = api.issue_type_mapping("Bug").await;
    let (status, m) = api
        .post(
            "/api/v1/flow/status-mappings",
            json!({"status_from": "RESOLVED", "flow_step_id": qa, "issue_type_mapping_id": bug}),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    let (_, impact) = api.get(&format!("/api/v1/flow/steps/{qa}/impact")).await;
    assert_eq!(impact["issues"], 2, "bugs follow their own mapping");
    let (_, impact) = api.get(&format!("/api/v1/flow/steps/{done}/impact")).await;
    assert_eq!(impact["issues"], 1, "stories keep the mapping for all types");

    let (status, answer) = api
        .post(
            "/api/v1/flow/status-mappings",
            json!({"status_from": "Closed", "flow_step_id": done, "issue_type_mapping_id": bug}),
        )
        .await;
    assert_eq!(
        (status, answer["fields"][0]["field"].as_str()),
        (422, Some("flow_step_id")),
        "conflicts: {answer}"
    );
    let (status, _) = api
        .post(
            "/api/v1/flow/status-mappings",
            json!({"status_from": "resolved", "flow_step_id": done, "issue_type_mapping_id": bug}),
        )
        .await;
    assert_eq!(status, 422, "duplicate per-type mapping");

    // Issue-type mappings: create, duplicate, category, level.
    let (status, t) = api
        .post(
            "/api/v1/flow/issue-type-mappings",
            json!({"issuetype_from": "Problem", "work_category": "incident"}),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(
        (t["issuetype_to"].as_str(), t["work_category"].as_str()),
        (Some("Problem"), Some("INCIDENT"))
    );
    for (body, field) in [
        (
            json!({"issuetype_from": "PROBLEM", "work_category": "BUG"}),
            "issuetype_from",
        ),
        (
            json!({"issuetype_from": "Chore", "work_category": "CHORE"}),
            "work_category",
        ),
        (
            json!({"issuetype_from": "Chore", "work_category": "TASK", "hierarchy_level": 99}),
            "hierarchy_level",
        ),
    ] {
        let (status, answer) = api.post("/api/v1/flow/issue-type-mappings", body.clone()).await;
        assert_eq!(
            (status, answer["fields"][0]["field"].as_str()),
            (422, Some(field)),
            "{body}: {answer}"
        );
    }
    // A mapping may not point at an inactive step.
    let (_, parked) = api
        .post(
            "/api/v1/flow/steps",
            json!({"name": "Parked", "category": "WAITING", "active": false}),
        )
        .await;
    let (status, answer) = api
        .post(
            "/api/v1/flow/status-mappings",
            json!({"status_from": "Parked", "flow_step_id": parked["id"]}),
        )
        .await;
    assert_eq!(
        (status, answer["fields"][0]["field"].as_str()),
        (422, Some("flow_step_id"))
    );

    // Deactivating the Bug mapping leaves bugs out; its per-type mapping stays.
    let (_, impact) = api
        .get(&format!(
            "/api/v1/flow/issue-type-mappings/{bug}/impact?deactivate=true"
        ))
        .await;
    assert_eq!(impact["issues"], 2);
    let (status, _) = api
        .post(&format!("/api/v1/flow/issue-type-mappings/{bug}/deactivate"), json!({}))
        .await;
    assert_eq!(status, 200);
    let (_, row) = api.get(&format!("/api/v1/flow/issue-type-mappings/{bug}")).await;
    assert_eq!(row["active"], false);
}
db_test!(issue_types_get_their_own_flow);

async fn deleting_a_step_reassigns_its_mappings_in_one_transaction(db: Db) {
    let app = spawn_app(db).await;
    let api = Api::admin(&app).await;
    seed_issues(
        &app,
        &[
            ("IN REVIEW", "Story", "indeterminate"),
            ("code review", "Task", "indeterminate"),
            ("In Review", "Bug", "indeterminate"),
        ],
    )
    .await;
    let review = api.step("Code Review").await;
    let doing = api.step("In Progress").await;
    let (_, off) = api
        .post(
            "/api/v1/flow/steps",
            json!({"name": "Old", "category": "IN_PROGRESS", "active": false}),
        )
        .await;
    let off = off["id"].as_i64().unwrap();

    let (status, impact) = api.get(&format!("/api/v1/flow/steps/{review}/impact")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (impact["status_mappings"].as_u64(), impact["issues"].as_u64()),
        (Some(2), Some(3)),
        "{impact}"
    );
    let targets: Vec<i64> = impact["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_i64().unwrap())
        .collect();
    assert!(targets.contains(&doing));
    assert!(!targets.contains(&review), "never itself");
    assert!(!targets.contains(&off), "never an inactive step");

    let path = format!("/api/v1/flow/steps/{review}/delete");
    for (body, expected) in [
        (json!({}), 422),
        (json!({"reassign_to": review}), 422),
        (json!({"reassign_to": off}), 422),
        (json!({"reassign_to": 999999}), 422),
    ] {
        let (status, answer) = api.post(&path, body.clone()).await;
        assert_eq!(status, expected, "{body}: {answer}");
        assert!(answer["error"].is_string());
    }
    assert_eq!(
        api.get(&format!("/api/v1/flow/steps/{review}")).await.0,
        200,
        "nothing deleted"
    );

    let (status, answer) = api.post(&path, json!({"reassign_to": doing})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(api.get(&format!("/api/v1/flow/steps/{review}")).await.0, 404);
    assert!(api.status_mappings().await.iter().all(|m| m["flow_step_id"] != review));
    let (_, impact) = api.get(&format!("/api/v1/flow/steps/{doing}/impact")).await;
    assert_eq!(impact["issues"], 3, "the issues moved with the mappings");

    // Loops are refused and change nothing.
    let blocked = api.step("Blocked").await;
    let waiting = api.step("Waiting").await;
    let before = api.status_mappings().await;
    let (status, answer) = api
        .post(
            "/api/v1/flow/steps/delete",
            json!({"items": [{"id": blocked, "reassign_to": waiting}, {"id": waiting, "reassign_to": blocked}]}),
        )
        .await;
    assert_eq!(status, 422);
    let error = answer["error"].as_str().unwrap();
    assert!(error.starts_with("flow steps: ") && error.contains("loop"), "{answer}");
    assert_eq!(api.status_mappings().await, before);
    assert_eq!(api.get(&format!("/api/v1/flow/steps/{blocked}")).await.0, 200);
    // A chain that ends at a surviving step is fine.
    let (status, answer) = api
        .post(
            "/api/v1/flow/steps/delete",
            json!({"items": [{"id": blocked, "reassign_to": waiting}, {"id": waiting, "reassign_to": doing}]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(api.get(&format!("/api/v1/flow/steps/{waiting}")).await.0, 404);

    // The last DONE step cannot go while mappings need one, whatever the target.
    let done = api.step("Done").await;
    let discarded = api.step("Discarded").await;
    let (_, impact) = api.get(&format!("/api/v1/flow/steps/{done}/impact")).await;
    assert!(
        impact["refused"].as_str().unwrap().contains("last active Done step"),
        "{impact}"
    );
    let (status, answer) = api
        .post(
            &format!("/api/v1/flow/steps/{done}/delete"),
            json!({"reassign_to": discarded}),
        )
        .await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("Done"));
    let (status, answer) = api
        .post(
            &format!("/api/v1/flow/steps/{done}/deactivate"),
            json!({"reassign_to": discarded}),
        )
        .await;
    assert_eq!(status, 409, "deactivating is refused alike: {answer}");
    let (_, shipped) = api
        .post("/api/v1/flow/steps", json!({"name": "Shipped", "category": "DONE"}))
        .await;
    let (status, answer) = api
        .post(
            &format!("/api/v1/flow/steps/{done}/deactivate"),
            json!({"reassign_to": shipped["id"]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (_, row) = api.get(&format!("/api/v1/flow/steps/{done}")).await;
    assert_eq!(row["active"], false);
    assert!(api.status_mappings().await.iter().all(|m| m["flow_step_id"] != done));
}
db_test!(deleting_a_step_reassigns_its_mappings_in_one_transaction);

async fn deleting_an_issue_type_mapping_moves_its_per_type_mappings(db: Db) {
    let app = spawn_app(db).await;
    let api = Api::admin(&app).await;
    seed_issues(&app, &[("Open", "Incident", "new"), ("Open", "incident", "new")]).await;
    let incident = api.issue_type_mapping("Incident").await;
    let bug = api.issue_type_mapping("Bug").await;
    let (_, impact) = api
        .get(&format!("/api/v1/flow/issue-type-mappings/{incident}/impact"))
        .await;
    assert_eq!(
        (impact["status_mappings"].as_u64(), impact["issues"].as_u64()),
        (Some(2), Some(2)),
        "{impact}"
    );
    assert!(!impact["targets"].as_array().unwrap().contains(&json!(incident)));
    let (status, answer) = api
        .post(
            &format!("/api/v1/flow/issue-type-mappings/{incident}/delete"),
            json!({}),
        )
        .await;
    assert_eq!(status, 422, "its mappings need a new home");
    assert!(
        answer["error"].as_str().unwrap().starts_with("issue-type mapping: "),
        "{answer}"
    );
    let (status, answer) = api
        .post(
            &format!("/api/v1/flow/issue-type-mappings/{incident}/delete"),
            json!({"reassign_to": bug}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let per_bug = api
        .status_mappings()
        .await
        .into_iter()
        .filter(|m| m["issue_type_mapping_id"] == bug)
        .count();
    assert_eq!(per_bug, 2);
    assert_eq!(
        api.unmapped().await["issue_types"][0]["name"]
            .as_str()
            .map(str::to_lowercase)
            .as_deref(),
        Some("incident")
    );
}
db_test!(deleting_an_issue_type_mapping_moves_its_per_type_mappings);

async fn viewers_read_the_flow_but_cannot_change_it(db: Db) {
    let app = spawn_app(db).await;
    let admin = Api::admin(&app).await;
    let viewer = Api::viewer(&app).await;
    let done = admin.step("Done").await;
    let bug = admin.issue_type_mapping("Bug").await;
    let mapping = admin.status_mappings().await[0]["id"].as_i64().unwrap();
    assert_eq!(viewer.get("/api/v1/flow/steps").await.0, 200);
    assert_eq!(viewer.get(&format!("/api/v1/flow/steps/{done}/impact")).await.0, 200);
    for (method, path) in [
        ("POST", "/api/v1/flow/steps".to_string()),
        ("PUT", format!("/api/v1/flow/steps/{done}")),
        ("POST", format!("/api/v1/flow/steps/{done}/delete")),
        ("POST", "/api/v1/flow/status-mappings".to_string()),
        ("PUT", format!("/api/v1/flow/status-mappings/{mapping}")),
        ("POST", format!("/api/v1/flow/status-mappings/{mapping}/delete")),
        ("POST", "/api/v1/flow/issue-type-mappings".to_string()),
        ("POST", format!("/api/v1/flow/issue-type-mappings/{bug}/deactivate")),
    ] {
        let (status, _) = match method {
            "PUT" => viewer.put(&path, json!({"name": "x"})).await,
            _ => viewer.post(&path, json!({"name": "x"})).await,
        };
        assert_eq!(status, 403, "{method} {path}");
    }
    assert_eq!(admin.get(&format!("/api/v1/flow/steps/{done}")).await.1["name"], "Done");
}
db_test!(viewers_read_the_flow_but_cannot_change_it);

async fn the_default_flow_maps_everything_a_real_sync_brings(db: Db) {
    let app = spawn_app(db).await;
    let api = Api::admin(&app).await;
    add_jira(&app, "cloud").await;
    run_sync(&app, &pulse_etl::integrations::control::RunContext::detached())
        .await
        .unwrap();
    let unmapped = api.unmapped().await;
    assert_eq!(unmapped["statuses"], json!([]), "{unmapped}");
    assert_eq!(unmapped["issue_types"], json!([]), "{unmapped}");

    // Without the Blocked mapping its issues show up, with their count, until mapped again.
    let blocked = api
        .status_mappings()
        .await
        .into_iter()
        .find(|m| m["status_from"] == "Blocked")
        .unwrap();
    let id = blocked["id"].as_i64().unwrap();
    let (_, impact) = api.get(&format!("/api/v1/flow/status-mappings/{id}/impact")).await;
    let (status, _) = api
        .post(&format!("/api/v1/flow/status-mappings/{id}/delete"), json!({}))
        .await;
    assert_eq!(status, 200);
    let unmapped = api.unmapped().await;
    assert_eq!(unmapped["statuses"][0]["name"], "Blocked", "{unmapped}");
    assert_eq!(unmapped["statuses"][0]["issues"], impact["issues"]);
    assert_eq!(unmapped["statuses"][0]["category_key"], "indeterminate");
    let waiting = api.step("Waiting").await;
    let (status, _) = api
        .post(
            "/api/v1/flow/status-mappings",
            json!({"status_from": "BLOCKED", "flow_step_id": waiting}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(api.unmapped().await["statuses"], json!([]));
}
db_test!(the_default_flow_maps_everything_a_real_sync_brings);

/// A failure after the mappings moved (here: the step delete, made to fail by a trigger) leaves
/// the mappings where they were: reassignment and deletion are one transaction.
async fn a_failed_delete_rolls_the_reassignment_back(db: Db) {
    use sea_orm::ConnectionTrait;
    let app = spawn_app(db).await;
    let api = Api::admin(&app).await;
    let review = api.step("Code Review").await;
    let doing = api.step("In Progress").await;
    let sql: &[&str] = match db {
        Db::Sqlite => &["CREATE TRIGGER no_delete BEFORE DELETE ON flow_steps BEGIN SELECT RAISE(ABORT, 'no'); END"],
        Db::Postgres => &[
            "CREATE FUNCTION no_delete() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'no'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER no_delete BEFORE DELETE ON flow_steps FOR EACH ROW EXECUTE FUNCTION no_delete()",
        ],
    };
    for s in sql {
        app.db.execute_unprepared(s).await.unwrap();
    }
    let before = api.status_mappings().await;
    assert_eq!(before.iter().filter(|m| m["flow_step_id"] == review).count(), 2);
    let (status, _) = api
        .post(
            &format!("/api/v1/flow/steps/{review}/delete"),
            json!({"reassign_to": doing}),
        )
        .await;
    assert!(status >= 500, "the delete failed: {status}");
    assert_eq!(
        api.status_mappings().await,
        before,
        "the moved mappings were rolled back"
    );
    assert_eq!(api.get(&format!("/api/v1/flow/steps/{review}")).await.0, 200);
}
db_test!(a_failed_delete_rolls_the_reassignment_back);

/// Concurrent edits: racing creations of one name (in any case) leave exactly one step, and two
/// deletions that reassign into each other never leave a mapping pointing at a removed step.
async fn concurrent_edits_do_not_corrupt_the_flow(db: Db) {
    let app = spawn_app(db).await;
    let api = Api::admin(&app).await;
    let names = [
        "Deploying",
        "DEPLOYING",
        "deploying",
        "Deploying ",
        "DePloYing",
        "deploying",
    ];
    let answers = futures_util::future::join_all(
        names
            .iter()
            .map(|n| api.post("/api/v1/flow/steps", json!({"name": n, "category": "IN_PROGRESS"}))),
    )
    .await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    assert!(
        answers.iter().all(|(s, _)| [201, 409, 422].contains(s)),
        "refused with a reason, never a server error: {answers:?}"
    );
    let (_, all) = api.get("/api/v1/flow/steps").await;
    let same = all["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"].as_str().unwrap().trim().eq_ignore_ascii_case("deploying"))
        .count();
    assert_eq!(same, 1, "{all}");

    // "QA" and "Code Review" (both IN_PROGRESS, both with mappings), each deleted into the other.
    let qa = api.step("QA").await;
    let review = api.step("Code Review").await;
    let before = api.status_mappings().await.len();
    let (qa_path, review_path) = (
        format!("/api/v1/flow/steps/{qa}/delete"),
        format!("/api/v1/flow/steps/{review}/delete"),
    );
    let (a, b) = tokio::join!(
        api.post(&qa_path, json!({"reassign_to": review})),
        api.post(&review_path, json!({"reassign_to": qa})),
    );
    assert!(
        [a.0, b.0].iter().all(|s| [200, 204, 409, 422].contains(s)),
        "{a:?} {b:?}"
    );
    let (_, all) = api.get("/api/v1/flow/steps").await;
    let steps: Vec<i64> = all["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert!(
        steps.contains(&qa) || steps.contains(&review),
        "at most one of the two is removed: {a:?} {b:?}"
    );
    let mappings = api.status_mappings().await;
    assert_eq!(mappings.len(), before, "no mapping lost");
    for m in &mappings {
        let step = m["flow_step_id"].as_i64().unwrap();
        assert!(steps.contains(&step), "mapping {m} points at a removed step");
    }
}
db_test!(concurrent_edits_do_not_corrupt_the_flow);
