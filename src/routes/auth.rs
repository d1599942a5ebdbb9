use actix_session::Session;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

use super::html;
use crate::auth::middleware::safe_next;
use crate::auth::throttle::Wait;
use crate::auth::{AuthError, CurrentUser, csrf, session};
use crate::limits::ClientAddr;
use crate::limits::client::limit_key;
use crate::startup::AppState;
use crate::views;

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    logged_out: Option<String>,
}

pub async fn login_form(session: Session, query: web::Query<LoginQuery>) -> HttpResponse {
    let token = session::csrf_token(&session);
    let next = safe_next(query.next.as_deref());
    let notice = query.logged_out.as_ref().map(|_| "You have been logged out.");
    let form = views::auth::LoginForm {
        csrf: &token,
        next: &next,
        email: "",
        error: None,
        notice,
    };
    html(StatusCode::OK, views::auth::login(&form))
}

#[derive(Deserialize)]
pub struct LoginBody {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
    next: Option<String>,
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<LoginBody>,
) -> HttpResponse {
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref());
    let expected = session::stored_csrf(&session).unwrap_or_default();
    let rerender = |status: StatusCode, error: &str| {
        let token = session::csrf_token(&session);
        let view = views::auth::LoginForm {
            csrf: &token,
            next: &next,
            email: &form.email,
            error: Some(error),
            notice: None,
        };
        html(status, views::auth::login(&view))
    };
    if !csrf::matches(&expected, &form.csrf_token) {
        return rerender(StatusCode::FORBIDDEN, "This form has expired. Please log in again.");
    }
    if form.email.trim().is_empty() || form.password.is_empty() {
        return rerender(StatusCode::UNPROCESSABLE_ENTITY, "Enter your email and password.");
    }
    let client = limit_key(ClientAddr::of(&req, &state.trusted_proxies).ip);
    if let Some(Wait(secs)) = state.login_throttle.check(&form.email, client) {
        tracing::warn!(%client, "login refused: too many failed attempts");
        let mut res = rerender(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many wrong passwords. Wait {secs} s, then try again."),
        );
        res.headers_mut().insert(header::RETRY_AFTER, secs.into());
        return res;
    }
    let password = SecretString::from(form.password.clone());
    match state.auth.login(form.email.trim(), &password).await {
        Ok((token, user)) => {
            state.login_throttle.succeeded(&form.email);
            tracing::info!(user = %user.email, admin = user.is_admin, "login");
            session::log_in(&session, secrecy::ExposeSecret::expose_secret(&token));
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, next))
                .finish()
        }
        Err(AuthError::BadCredentials | AuthError::InvalidToken) => {
            state.login_throttle.failed(&form.email, client);
            tracing::info!(%client, "login refused: bad credentials");
            rerender(StatusCode::OK, "Wrong email or password.")
        }
        Err(AuthError::Unavailable(e)) => {
            tracing::warn!(error = format!("{e:#}"), "login: backend service unreachable");
            rerender(
                StatusCode::SERVICE_UNAVAILABLE,
                "The authentication service is unavailable. Please try again in a moment.",
            )
        }
    }
}

pub async fn logout_confirm(user: CurrentUser) -> HttpResponse {
    html(StatusCode::OK, views::auth::logout_confirm(&user.csrf))
}

pub async fn logout(state: web::Data<AppState>, session: Session, user: CurrentUser) -> HttpResponse {
    if let Some(token) = session::token(&session)
        && let Err(e) = state.auth.logout(&token).await
    {
        tracing::warn!(error = %e, "logout: backend did not confirm; the local session is cleared anyway");
    }
    tracing::info!(user = %user.user.email, "logout");
    session::clear(&session);
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login?logged_out=1"))
        .finish()
}
