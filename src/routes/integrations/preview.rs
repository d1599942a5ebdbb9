//! "Preview deployments" on the GitHub integration form: the form again, with what the
//! repositories have over the last 90 days and what the source and pattern would count.

use actix_web::http::StatusCode;
use actix_web::web;
use entity::integrations;

use super::{FormBody, Shown, find, form_failure, render_form};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::integrations::manage::{self, SaveFailure};
use crate::routes::PageResult;
use crate::startup::AppState;

/// "Preview" on the form of a new integration: the form again with what the repositories have.
pub async fn preview_new(state: web::Data<AppState>, user: CurrentUser, form: web::Form<FormBody>) -> PageResult {
    preview(&state, &user, None, form.into_inner()).await
}

/// "Preview" on the form of a stored integration (its secret used when none is typed).
pub async fn preview_edit(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: web::Form<FormBody>,
) -> PageResult {
    let existing = find(&state, *id).await?;
    let mut form = form.into_inner();
    form.kind = existing.kind.as_str().to_string();
    preview(&state, &user, Some(existing), form).await
}

async fn preview(
    state: &AppState,
    user: &CurrentUser,
    existing: Option<integrations::Model>,
    form: FormBody,
) -> PageResult {
    let id = existing.as_ref().map(|e| e.id);
    let has_secret = existing.as_ref().is_some_and(|e| e.secret.is_some());
    let values = form.values();
    match manage::preview(&state.vault, state.outbound, &form.input(), existing.as_ref()).await {
        Ok(p) => {
            let shown = Shown {
                preview: Some(&p),
                ..Default::default()
            };
            Ok(render_form(user, id, &values, &[], shown, has_secret, StatusCode::OK))
        }
        Err(SaveFailure::Save(e)) => Err(AppError::Internal(anyhow::Error::new(e)).into()),
        Err(other) => Ok(form_failure(user, id, &values, has_secret, &other)),
    }
}
