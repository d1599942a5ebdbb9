//! Simulated GitHub REST and GraphQL (github.com and Enterprise Server).
//!
//! * [`rest`]: the REST routes (same handlers under `/github` and `/ghe/api/v3`), with Link
//!   pagination ([`link`]), ETags and `If-None-Match` → 304.
//! * [`graphql`]: a real GraphQL front end (the `graphql-parser` crate), static validation against
//!   the slice of GitHub's schema the simulator knows ([`graphql::schema`]), GitHub's cost rule
//!   ([`graphql::cost`]) and a streaming executor over the borrowed dataset ([`graphql::exec`]).
//! * [`render`]: what both share: URLs, ids, dates, and the REST JSON objects.

pub mod graphql;
pub mod link;
pub mod render;
pub mod rest;

use actix_web::web;

/// REST routes relative to the API root (`/` on github.com, `/api/v3` on Enterprise).
pub fn configure_rest(cfg: &mut web::ServiceConfig) {
    rest::configure(cfg);
}

pub use graphql::graphql;
