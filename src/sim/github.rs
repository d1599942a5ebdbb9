//! Simulated GitHub REST and GraphQL (github.com and Enterprise Server).

use actix_web::{HttpResponse, web};

/// REST routes relative to the API root (`/` on github.com, `/api/v3` on Enterprise).
pub fn configure_rest(_cfg: &mut web::ServiceConfig) {}

/// `POST /graphql` (github.com) and `POST /api/graphql` (Enterprise).
pub async fn graphql() -> HttpResponse {
    HttpResponse::NotFound().finish()
}
