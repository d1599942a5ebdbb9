//! A request body must arrive whole within [`BODY_DEADLINE`] of its request head. Slow headers
//! are cut by actix-web's header timeout, but a body trickling in a byte every few seconds
//! held its connection for as long as the client liked (about 20,000 such connections took
//! every file descriptor). Past the deadline the body ends in an error, the request is answered
//! 408 and the connection is closed.
//!
//! The body the handler reads is a wrapper around actix-web's; the original stays reachable
//! from the response body until the answer is written, so the HTTP layer sees a request body
//! that was not read to the end and closes the connection, instead of draining it (a chunked
//! body would otherwise be drained at the client's pace after the answer).

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING, UPGRADE};
use actix_web::http::{ConnectionType, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

/// How long a request body may take to arrive after the request head. Bodies are at most
/// 256 KiB (`startup::MAX_BODY_BYTES`): 2 s even at 1 Mbit/s.
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// The WebSocket route (`routes.rs`), the one request whose body the deadline leaves alone.
const WEBSOCKET_PATH: &str = "/ws";

#[derive(Default)]
struct Shared {
    payload: Option<Payload>,
    expired: bool,
}

/// The body as handlers read it: actix-web's, until the deadline.
struct Deadline {
    shared: Rc<RefCell<Shared>>,
    sleep: Pin<Box<Sleep>>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let mut shared = this.shared.borrow_mut();
        if shared.expired {
            return Poll::Ready(None);
        }
        let Some(payload) = shared.payload.as_mut() else {
            return Poll::Ready(None);
        };
        if let Poll::Ready(item) = Pin::new(payload).poll_next(cx) {
            return Poll::Ready(item);
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            shared.expired = true;
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            )))));
        }
        Poll::Pending
    }
}

/// The response body, holding the original request body until it has been written (see the
/// module doc).
pub struct KeepRequestBody<B> {
    body: B,
    _request_body: Rc<RefCell<Shared>>,
}

impl<B: MessageBody + Unpin> MessageBody for KeepRequestBody<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}

/// The WebSocket route's handshake: its "body" is the socket itself, open for as long as the
/// page is, so it gets no deadline. Only there: an `Upgrade` header on any other request (a
/// `POST /login` with `Upgrade: x`) must not take its body out of the deadline.
fn is_websocket_handshake(req: &ServiceRequest) -> bool {
    req.method() == Method::GET && req.path() == WEBSOCKET_PATH && req.headers().contains_key(UPGRADE)
}

fn has_body(req: &ServiceRequest) -> bool {
    if is_websocket_handshake(req) {
        return false;
    }
    let h = req.headers();
    // `Upgrade: websocket` without a length, and CONNECT, make actix-http read a body until the
    // connection closes: a body like any other here.
    h.contains_key(TRANSFER_ENCODING)
        || h.contains_key(UPGRADE)
        || req.method() == Method::CONNECT
        || h.get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

pub async fn body_deadline<B: MessageBody + Unpin>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B, KeepRequestBody<EitherBody<B>>>>, actix_web::Error> {
    if !has_body(&req) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let shared = Rc::new(RefCell::new(Shared {
        payload: Some(req.take_payload()),
        expired: false,
    }));
    let wrapped = Deadline {
        shared: shared.clone(),
        sleep: Box::pin(tokio::time::sleep_until(Instant::now() + BODY_DEADLINE)),
    };
    req.set_payload(Payload::from(
        Box::pin(wrapped) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>
    ));
    // (The request is not cloned before the call: routing needs it unshared.)
    let res = next.call(req).await?;
    let expired = shared.borrow().expired;
    let res = if expired {
        let http_req = res.request().clone();
        tracing::info!(
            path = http_req.path(),
            "request body not received in time; closing the connection"
        );
        let mut timeout = crate::error::json_or_html(
            &http_req,
            StatusCode::REQUEST_TIMEOUT,
            "the request body did not arrive in time",
        );
        timeout.head_mut().set_connection_type(ConnectionType::Close);
        ServiceResponse::new(http_req, timeout).map_into_right_body()
    } else {
        res.map_into_left_body()
    };
    Ok(res
        .map_body(|_, body| KeepRequestBody {
            body,
            _request_body: shared,
        })
        .map_into_right_body())
}
