//! `/ws`: live job status for the dashboard (DESIGN §10). Authenticated like a page by the
//! auth middleware; the `Origin` must be this site. A lagging client gets a fresh snapshot
//! instead of blocking the others; sockets close on shutdown so it does not wait for them.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, Message};
use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::limits::{ClientAddr, TrustedProxies};
use crate::orchestrator::Event;
use crate::startup::AppState;

/// How often the server pings an idle socket (and notices dead ones).
const PING_EVERY: Duration = Duration::from_secs(15);

pub async fn ws(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, actix_web::Error> {
    if !same_origin(&req, &state.trusted_proxies) {
        return Err(AppError::Forbidden("cross-origin WebSocket refused".into()).into());
    }
    let slot = state.websockets.take(user.user.email.to_lowercase());
    if state.max_websockets_per_user > 0 && slot.count > state.max_websockets_per_user {
        return Ok(crate::error::json_error(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "at most {} live-status connections per user; close some tabs",
                state.max_websockets_per_user
            ),
        ));
    }
    let (res, mut session, mut stream) = actix_ws::handle(&req, body)?;
    let mut events = state.orchestrator.subscribe();
    let shutdown = state.shutdown.clone();
    let state = state.into_inner();
    actix_web::rt::spawn(async move {
        metrics::gauge!(crate::telemetry::WEBSOCKET_CLIENTS).increment(1.0);
        let mut ok = send_snapshot(&state, &mut session).await;
        let mut ping = tokio::time::interval(PING_EVERY);
        while ok {
            tokio::select! {
                ev = events.recv() => ok = match ev {
                    Ok(e) => send(&mut session, &e).await,
                    Err(RecvError::Lagged(_)) => send_snapshot(&state, &mut session).await,
                    Err(RecvError::Closed) => false,
                },
                msg = stream.next() => ok = match msg {
                    Some(Ok(Message::Ping(b))) => session.pong(&b).await.is_ok(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => false,
                    Some(Ok(_)) => true,
                },
                _ = ping.tick() => ok = session.ping(b"").await.is_ok(),
                _ = shutdown.cancelled() => {
                    let _ = session.clone().close(Some(CloseCode::Away.into())).await;
                    ok = false;
                }
            }
        }
        let _ = session.close(None).await;
        metrics::gauge!(crate::telemetry::WEBSOCKET_CLIENTS).decrement(1.0);
        drop(slot);
    });
    Ok(res)
}

/// `Origin` (browsers always send it on WebSockets) must be this site's origin as the browser
/// reached it: scheme, host and port. Forwarding headers count only from `TRUSTED_PROXIES`.
fn same_origin(req: &HttpRequest, trusted: &TrustedProxies) -> bool {
    let Some(origin) = req.headers().get("Origin").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(ours) = ClientAddr::of(req, trusted).origin() else {
        return false;
    };
    url::Url::parse(origin).is_ok_and(|u| u.origin().ascii_serialization() == ours)
}

async fn send(session: &mut actix_ws::Session, event: &Event) -> bool {
    match serde_json::to_string(event) {
        Ok(text) => session.text(text).await.is_ok(),
        Err(_) => true,
    }
}

async fn send_snapshot(state: &AppState, session: &mut actix_ws::Session) -> bool {
    for e in state.orchestrator.snapshot().await {
        if !send(session, &e).await {
            return false;
        }
    }
    true
}
