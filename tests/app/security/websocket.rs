//! The live-status socket: `Origin` must be this site's exact origin (forwarding headers count
//! only from a trusted proxy), and one user may open only so many.

use crate::helpers::{Db, Options, TestApp, spawn_app_with};

type Socket = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

async fn connect(app: &TestApp, headers: &[(&str, &str)]) -> Result<Socket, String> {
    let url = app.url("/ws").replace("http://", "ws://");
    let mut req = awc::Client::new().ws(url).header("Cookie", app.cookie_header());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.connect().await.map(|(_, s)| s).map_err(|e| format!("{e:?}"))
}

async fn origin_and_count_body() {
    let mut opts = Options::new(Db::Sqlite);
    opts.env.insert("MAX_WEBSOCKETS_PER_USER", "3".into());
    let app = spawn_app_with(opts).await;
    app.login_admin().await;
    let ours = app.url("");
    let https = ours.replace("http://", "https://");
    // Forged forwarding headers from a direct client, or another scheme, do not make an origin ours.
    for headers in [
        vec![("Origin", "http://evil.example"), ("X-Forwarded-Host", "evil.example")],
        vec![("Origin", "http://evil.example"), ("Forwarded", "host=evil.example")],
        vec![("Origin", https.as_str())],
        vec![("Origin", https.as_str()), ("X-Forwarded-Proto", "https")],
    ] {
        assert!(connect(&app, &headers).await.is_err(), "{headers:?}");
    }
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(connect(&app, &[("Origin", &ours)]).await.expect("within the limit"));
    }
    let refused = connect(&app, &[("Origin", &ours)]).await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("429")),
        "{:?}",
        refused.map(|_| ())
    );
    drop(open.pop());
    // The slot comes back once the server notices the close.
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(s) = connect(&app, &[("Origin", &ours)]).await {
            reopened = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "a closed socket frees its place");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_check_the_exact_origin_and_a_per_user_limit() {
    tokio::task::LocalSet::new().run_until(origin_and_count_body()).await;
}

async fn proxy_body() {
    let mut opts = Options::new(Db::Sqlite);
    opts.env.insert("TRUSTED_PROXIES", "127.0.0.1".into());
    let app = spawn_app_with(opts).await;
    app.login_admin().await;
    let behind_proxy = [
        ("Origin", "https://pulse.example"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "pulse.example"),
    ];
    assert!(connect(&app, &behind_proxy).await.is_ok());
    assert!(
        connect(
            &app,
            &[
                ("Origin", "https://pulse.example"),
                ("X-Forwarded-Host", "pulse.example")
            ]
        )
        .await
        .is_err()
    );
}

/// Behind a configured proxy its forwarding headers say which origin the browser used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_its_forwarded_origin_counts() {
    tokio::task::LocalSet::new().run_until(proxy_body()).await;
}
