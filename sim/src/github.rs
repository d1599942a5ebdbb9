//! Simulated GitHub REST and GraphQL (github.com and Enterprise Server).
//!
//! * [`rest`]: the REST routes (same handlers under `/github` and `/ghe/api/v3`), with Link
//!   pagination ([`link`]), ETags and `If-None-Match` → 304; [`accounts`]: organisations,
//!   members and users.
//! * [`graphql`]: a real GraphQL front end (the `graphql-parser` crate), static validation against
//!   the slice of GitHub's schema the simulator knows ([`graphql::schema`]), GitHub's cost rule
//!   ([`graphql::cost`]) and a streaming executor over the borrowed dataset ([`graphql::exec`]).
//! * [`render`]: what both share: URLs, ids, dates, and the REST JSON objects.
//!
//! Known differences from the real services (kept on purpose, or for lack of data):
//! * JSON object keys come out sorted, not in GitHub's order.
//! * Values the dataset has no source for are derived deterministically: `base.sha`, tree
//!   shas, review-comment `diff_hunk`/`line`, check-suite ids, the organisation's id, commit
//!   node ids (legacy `06:Commit{repo}:{sha}` form). PR commits have committer = author;
//!   `merged_by`, labels, assignees and reviewers are empty.
//! * Link URLs repeat the request path (GitHub sometimes answers on `/repositories/{id}/…`).
//! * GraphQL: bots' logins have no `[bot]` suffix (as on GitHub); `Deployment.statuses` is
//!   newest first like REST; default orders are CREATED_AT ASC; PR `commits` is not capped at
//!   250 (REST is); pagination and cursor errors are found before execution and null their
//!   top-level field; `rateLimit(dryRun: true)` is not charged and nulls the other fields.

pub mod accounts;
pub mod graphql;
pub mod link;
pub mod render;
pub mod rest;

use actix_web::web;

/// REST routes relative to the API root (`/` on github.com, `/api/v3` on Enterprise).
pub fn configure_rest(cfg: &mut web::ServiceConfig) {
    accounts::configure(cfg);
    rest::configure(cfg);
}

pub use graphql::graphql;
