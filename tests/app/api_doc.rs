//! The OpenAPI document is served to anyone (tools fetch it without a session) and the `/api`
//! page lists every operation with a link to it. (That the document covers every route of the
//! table is the unit test in `src/routes/openapi.rs`; that it is valid OpenAPI 3.1,
//! `tests/openapi/validate.sh`.)

use serde_json::Value;

use crate::db_test;
use crate::helpers::{Db, count, select_attr, spawn_app};

db_test!(the_document_is_served_without_a_session);
async fn the_document_is_served_without_a_session(db: Db) {
    let app = spawn_app(db).await;
    let res = app.get("/api/v1/openapi.json").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let teams = &doc["paths"]["/api/v1/teams"]["post"];
    assert_eq!(
        teams["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/TeamInput"
    );
    assert!(
        teams["responses"]["422"].is_object() && teams["responses"]["403"].is_object(),
        "{teams}"
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

db_test!(the_api_page_lists_every_operation_and_links_the_document);
async fn the_api_page_lists_every_operation_and_links_the_document(db: Db) {
    let app = spawn_app(db).await;
    assert_eq!(app.get("/json-api").await.status(), 303, "a page for logged-in users");
    app.login_viewer().await;
    let dashboard = app.get("/").await.text().await.unwrap();
    assert_eq!(
        select_attr(&dashboard, "footer a[href='/json-api']", "href").as_deref(),
        Some("/json-api")
    );
    let html = app.get("/json-api").await.text().await.unwrap();
    assert_eq!(
        select_attr(&html, "a.button[href='/api/v1/openapi.json']", "href").as_deref(),
        Some("/api/v1/openapi.json")
    );
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(count(&html, "table.data tbody tr"), operations);
    assert!(html.contains("Add a team: a name plus repositories and Jira projects"));
}
