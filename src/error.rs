//! One error type at the edge: JSON for `/api`, an HTML page for everything else.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use maud::html;

use crate::views;

/// What went wrong, in words a user may read. Causes go to the log, not to the user.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("the authentication service is unavailable; try again in a moment")]
    AuthUnavailable,
    #[error("the database is unavailable")]
    Database(sea_orm::DbErr),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// A constraint the database enforced is a conflict with data saved meanwhile (for example two
/// requests creating the same name at once), not an outage.
impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict(
                "it already exists (saved by another request meanwhile); reload and try again".into(),
            ),
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => AppError::Conflict(
                "it refers to, or is still used by, a record changed meanwhile; reload and try again".into(),
            ),
            // A stored value no enum knows (a hand edit, or a newer version's value): a fault
            // in the data, not an outage.
            _ if matches!(e, sea_orm::DbErr::Type(_)) => AppError::Internal(anyhow::Error::new(e)),
            _ if is_concurrent_write(&e) => AppError::Conflict(
                "another change to the same records happened at the same time; reload and try again".into(),
            ),
            _ => AppError::Database(e),
        }
    }
}

/// PostgreSQL gave up one of two transactions that wrote the same rows in opposite orders
/// (deadlock, 40P01) or could not serialize them (40001); the other one committed.
fn is_concurrent_write(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    let (DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x))) = e else {
        return false;
    };
    x.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == "40P01" || c == "40001")
}

impl AppError {
    fn log_if_internal(&self) {
        match self {
            AppError::Database(e) => tracing::error!(error = %e, "database error"),
            AppError::Internal(e) => tracing::error!(error = format!("{e:#}"), "internal error"),
            _ => {}
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::AuthUnavailable | AppError::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log_if_internal();
        json_error(self.status_code(), &self.to_string())
    }
}

/// The same error rendered as a full HTML page (for page handlers).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct PageError(#[from] pub AppError);

impl From<sea_orm::DbErr> for PageError {
    fn from(e: sea_orm::DbErr) -> Self {
        PageError(AppError::from(e))
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log_if_internal();
        html_error(self.status_code(), &self.0.to_string())
    }
}

pub fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": message }))
}

pub fn html_error(status: StatusCode, message: &str) -> HttpResponse {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = views::layout::bare(
        title,
        html! {
            main.narrow {
                section.card.error-card {
                    h1 { (status.as_u16()) " · " (title) }
                    p { (message) }
                    p { a href="/" { "Back to the dashboard" } }
                }
            }
        },
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

/// `{"error"}` JSON under `/api`, an error page everywhere else.
pub fn json_or_html(req: &actix_web::HttpRequest, status: StatusCode, message: &str) -> HttpResponse {
    if crate::auth::middleware::is_api(req.path()) {
        json_error(status, message)
    } else {
        html_error(status, message)
    }
}
