//! At most `MAX_CONNECTIONS_PER_CLIENT` open connections per client address (an IPv6 /64 counts
//! as one). actix-web cannot refuse a connection when it is accepted, so each connection takes
//! a slot when it opens (`HttpServer::on_connect`) and gives it back when it closes; a request
//! on a connection over the limit is answered 429 and the connection closed. A connection that
//! never sends a request is cut by the header timeout. Connections from a trusted proxy are not
//! counted: they carry many clients.

use std::net::IpAddr;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

use super::client::{TrustedProxies, canonical, limit_key};
use super::counter::{PerKey, Slot};

/// Open connections per client address, shared by every worker.
#[derive(Clone, Debug)]
pub struct ConnectionLimit {
    max: usize,
    trusted: TrustedProxies,
    open: PerKey<IpAddr>,
}

/// One open connection's place in the count; dropped (and given back) with the connection.
#[derive(Debug)]
pub struct ConnectionSlot {
    slot: Option<Slot<IpAddr>>,
    over_limit: bool,
}

impl ConnectionLimit {
    /// `max` = 0 turns the limit off.
    pub fn new(max: usize, trusted: TrustedProxies) -> Self {
        Self {
            max,
            trusted,
            open: PerKey::default(),
        }
    }

    /// Counts a new connection from `peer`.
    pub fn open(&self, peer: IpAddr) -> ConnectionSlot {
        let peer = canonical(peer);
        if self.max == 0 || self.trusted.contains(peer) {
            return ConnectionSlot {
                slot: None,
                over_limit: false,
            };
        }
        let slot = self.open.take(limit_key(peer));
        ConnectionSlot {
            over_limit: slot.count > self.max,
            slot: Some(slot),
        }
    }

    /// Connections counted now for `peer` (tests and diagnostics).
    pub fn count(&self, peer: IpAddr) -> usize {
        self.open.count(&limit_key(peer))
    }
}

impl ConnectionSlot {
    /// Whether the connection is counted at all (not from a trusted proxy, limit on).
    pub fn is_counted(&self) -> bool {
        self.slot.is_some()
    }
}

/// Answers 429 and closes the connection when it is one too many for its client address.
pub async fn refuse_over_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let over = req.conn_data::<ConnectionSlot>().is_some_and(|s| s.over_limit);
    if !over {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let mut res = crate::error::json_or_html(
        req.request(),
        StatusCode::TOO_MANY_REQUESTS,
        "too many open connections from your address; close some and try again",
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    res.head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    Ok(req.into_response(res).map_into_right_body())
}
