//! Limits that keep one client from exhausting the service without logging in: a deadline for
//! request bodies, a cap on connections per client address, and who the client is when a
//! reverse proxy stands in front (`TRUSTED_PROXIES`).

pub mod body;
pub mod client;
pub mod connections;
pub mod counter;

pub use body::body_deadline;
pub use client::{ClientAddr, TrustedProxies};
pub use connections::{ConnectionLimit, ConnectionSlot};
pub use counter::{PerKey, Slot};
