//! What anyone can send without logging in: made-up methods, slow bodies, many connections,
//! many passwords.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{host, trickle};
use crate::db_test;
use crate::helpers::{Db, Options, select_text, spawn_app, spawn_app_with};

/// Made-up HTTP methods are counted under one label, so they cannot grow `/metrics` (80,000 of
/// them once took it from 174 KB to 91 MB); made-up paths are counted by route pattern or as
/// `unmatched`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_share_one_metric_label() {
    let app = spawn_app(Db::Sqlite).await;
    for i in 0..200 {
        let method = reqwest::Method::from_bytes(format!("XQWERTYUIOPAS{i}").as_bytes()).unwrap();
        let res = app.client.request(method, app.url("/x")).send().await.unwrap();
        assert!(!res.status().is_server_error(), "{}", res.status());
    }
    let text = app.get("/metrics").await.text().await.unwrap();
    let methods: BTreeSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("http_requests_total{"))
        .filter_map(|l| l.split("method=\"").nth(1)?.split('"').next())
        .collect();
    assert!(methods.contains("other"), "{methods:?}");
    let known = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "other"];
    assert!(methods.iter().all(|m| known.contains(m)), "{methods:?}");
    assert!(!text.contains("XQWERTY"), "no made-up method reaches /metrics");

    // Nor do made-up paths, matched or not: after one request of each shape (so each series it
    // adds exists), 2,000 distinct methods and paths leave /metrics about the size it was (its
    // counters and sums only gain digits).
    let shapes = |i: usize| {
        [
            format!("/x{i}/y"),
            format!("/api/v1/nope/{i}?q={i}"),
            format!("/api/v1/integrations/{i}"),
            format!("/integrations/{i}/edit"),
            format!("/static/{i}.js"),
        ]
    };
    let send = |method: &str, path: &str| {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        app.client.request(method, app.url(path)).send()
    };
    for path in shapes(0) {
        for method in ["XQWERTYWARM", "GET"] {
            let res = send(method, &path).await.unwrap();
            assert!(!res.status().is_server_error(), "{method} {path}: {}", res.status());
        }
    }
    let _ = app.get("/metrics").await.text().await.unwrap();
    let before = app.get("/metrics").await.text().await.unwrap();
    for i in 1..=2_000 {
        let path = &shapes(i)[i % 5];
        let res = send(&format!("ZFLOOD{i}"), path).await.unwrap();
        assert!(!res.status().is_server_error(), "{path}: {}", res.status());
    }
    let after = app.get("/metrics").await.text().await.unwrap();
    let growth = after.len().saturating_sub(before.len());
    assert!(
        growth < 4 * 1024,
        "/metrics grew by {growth} bytes ({} -> {}) after 2,000 made-up methods and paths",
        before.len(),
        after.len()
    );
    for made_up in ["ZFLOOD", "/x1", "nope", "/static/1"] {
        assert!(!after.contains(made_up), "{made_up} reached /metrics");
    }
}

/// A body trickling in a byte every two seconds is cut at the body deadline (408, connection
/// closed), with and without a length, with and without an `Upgrade` header; meanwhile
/// `/health` answers.
async fn slow_bodies_are_cut_off_while_health_answers(db: Db) {
    let app = spawn_app(db).await;
    let host = host(&app);
    let head = |framing: &str| {
        format!(
            "POST /login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n{framing}\r\n"
        )
    };
    let mut slow = Vec::new();
    for i in 0..20 {
        let (head, drip): (String, &'static [u8]) = match i % 4 {
            0 => (head("Content-Length: 1000\r\n"), b"e"),
            1 => (head("Transfer-Encoding: chunked\r\n"), b"1\r\ne\r\n"),
            // An `Upgrade` header does not take a body out of the deadline (only the WebSocket
            // handshake, `GET /ws`, has none)...
            2 => (head("Upgrade: x\r\nContent-Length: 1000\r\n"), b"e"),
            // ... nor does `Upgrade: websocket` without a length, a body read until the
            // connection closes.
            _ => (head("Upgrade: websocket\r\n"), b"e"),
        };
        let h = host.clone();
        slow.push(tokio::spawn(async move {
            trickle(&h, head, drip, Duration::from_secs(40)).await
        }));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let health = tokio::time::timeout(Duration::from_secs(5), app.get("/health")).await;
    assert_eq!(health.expect("/health answers while slow bodies arrive").status(), 200);
    for (i, s) in slow.into_iter().enumerate() {
        let answer = s.await.unwrap();
        let answer = answer.unwrap_or_else(|| panic!("the service did not close slow connection {i} (kind {})", i % 4));
        assert!(answer.starts_with("HTTP/1.1 408"), "kind {}: {answer}", i % 4);
    }
    assert_eq!(app.get("/health").await.status(), 200);
}
db_test!(slow_bodies_are_cut_off_while_health_answers);

/// Connections beyond `MAX_CONNECTIONS_PER_CLIENT` from one address are answered 429 and
/// closed; once the others close, the address is served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_may_hold_only_so_many_connections() {
    let mut opts = Options::new(Db::Sqlite);
    opts.env.insert("MAX_CONNECTIONS_PER_CLIENT", "4".into());
    let app = spawn_app_with(opts).await;
    let host = host(&app);
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 1000\r\n\r\n"
    );
    let mut held = Vec::new();
    for _ in 0..4 {
        let (h, head) = (host.clone(), head.clone());
        held.push(tokio::spawn(async move {
            trickle(&h, head, b"e", Duration::from_secs(40)).await
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    // A fresh client: the test's own pooled connections must not count.
    let fresh = reqwest::Client::new();
    let res = fresh.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["connection"], "close");
    for h in held {
        let answer = h.await.unwrap();
        assert!(
            answer.as_ref().is_some_and(|a| a.starts_with("HTTP/1.1 408")),
            "{answer:?}"
        );
    }
    let res = reqwest::Client::new().get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200, "served again once the held connections closed");
}

/// After a few wrong passwords for one account, sign-in waits (429 with `Retry-After`), even
/// with the right password, and the form says so beforehand; other accounts are not held up.
async fn wrong_passwords_slow_down_sign_in(db: Db) {
    let app = spawn_app(db).await;
    let form = app.get("/login").await.text().await.unwrap();
    assert!(
        select_text(&form, "#login-throttle-note").is_some_and(|t| t.contains("5 wrong passwords")),
        "{form}"
    );
    for _ in 0..5 {
        let res = app.login("admin@example.com", "wrong").await;
        assert_eq!(res.status(), 200);
    }
    let res = app.login("admin@example.com", "pulse-admin").await;
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=300).contains(&wait), "{wait}");
    let page = res.text().await.unwrap();
    assert!(select_text(&page, "#login-error").is_some_and(|t| t.contains("Too many wrong passwords")));
    // Another account from the same address is not held up by five failures.
    assert_eq!(app.login("viewer@example.com", "pulse-viewer").await.status(), 303);
    // Once the wait is over, the right password works and clears the count.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(app.login("admin@example.com", "pulse-admin").await.status(), 303);
}
db_test!(wrong_passwords_slow_down_sign_in);
