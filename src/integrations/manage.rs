//! Creating and editing integrations: validate, test the connection (unless skipped), save.

use entity::integrations;
use sea_orm::DatabaseConnection;
use url::Url;

use super::connection::{self, Target, TestReport};
use super::error::UpstreamError;
use super::github::preview::{self, Preview};
use super::http::Outbound;
use crate::crypto::Vault;
use crate::db;
use crate::db::integrations::{SaveError, TestOutcome};
use crate::domain::integration::{IntegrationInput, Settings};
use crate::domain::settings::FieldError;

pub enum SaveFailure {
    /// Field errors, shown next to the fields; nothing saved.
    Invalid(Vec<FieldError>),
    /// The connection test failed; nothing saved.
    TestFailed(TestReport),
    /// The deployment source would count nothing over the preview's days (the form asks to
    /// confirm); nothing saved.
    NothingMatches(Box<Preview>),
    /// The preview could not be read from the upstream.
    PreviewFailed(String),
    Save(SaveError),
}

impl From<sea_orm::DbErr> for SaveFailure {
    fn from(e: sea_orm::DbErr) -> Self {
        SaveFailure::Save(SaveError::Db(e))
    }
}

impl From<SaveError> for SaveFailure {
    fn from(e: SaveError) -> Self {
        SaveFailure::Save(e)
    }
}

pub struct Saved {
    pub row: integrations::Model,
    pub report: Option<TestReport>,
}

/// How a save checks the submission against the upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checks {
    /// Saved as submitted.
    None,
    /// The connection is tested first.
    Test,
    /// The connection is tested, and a GitHub deployment source that would count nothing over
    /// the preview's days is refused with [`SaveFailure::NothingMatches`] (the form's "Test and
    /// save" until the user confirms).
    TestAndPreview,
}

/// Previews the deployment source of a GitHub integration as submitted (with the stored secret
/// when none is submitted), without saving anything.
pub async fn preview(
    vault: &Vault,
    outbound: Outbound,
    input: &IntegrationInput,
    existing: Option<&integrations::Model>,
) -> Result<Preview, SaveFailure> {
    let has_secret = existing.is_some_and(|e| e.secret.is_some());
    let valid = input.validate(has_secret).map_err(SaveFailure::Invalid)?;
    let Settings::Github(s) = &valid.settings else {
        return Err(SaveFailure::Invalid(vec![FieldError {
            field: "kind",
            message: "Only a GitHub integration has a deployment source to preview".into(),
        }]));
    };
    if let Some(e) = existing
        && valid.secret.is_none()
        && moved_elsewhere(&e.base_url, &valid.base_url)
    {
        return Err(SaveFailure::Invalid(vec![FieldError {
            field: "secret",
            message: "The address changed (scheme, host or port): enter the secret again".into(),
        }]));
    }
    if let Err(blocked) = outbound.guard.check_destination(&valid.base_url).await {
        return Err(SaveFailure::Invalid(vec![FieldError {
            field: "base_url",
            message: UpstreamError::Blocked(blocked.0).to_string(),
        }]));
    }
    let secret = match (&valid.secret, existing) {
        (Some(s), _) => s.clone(),
        (None, Some(e)) => db::integrations::decrypt_secret(vault, e).map_err(SaveError::from)?,
        (None, None) => return Err(SaveFailure::Save(SaveError::MissingSecret)),
    };
    let target = Target {
        flavour: valid.flavour,
        base_url: &valid.base_url,
        username: None,
        secret: &secret,
        settings: &valid.settings,
    };
    preview::preview(&target, s, outbound)
        .await
        .map_err(SaveFailure::PreviewFailed)
}

/// Creates (`existing` = None) or updates an integration.
pub async fn save(
    db: &DatabaseConnection,
    vault: &Vault,
    outbound: Outbound,
    input: &IntegrationInput,
    existing: Option<integrations::Model>,
    checks: Checks,
) -> Result<Saved, SaveFailure> {
    let run_test = checks != Checks::None;
    let has_secret = existing.as_ref().is_some_and(|e| e.secret.is_some());
    let mut valid = input.validate(has_secret).map_err(SaveFailure::Invalid)?;
    if let Some(e) = &existing
        && e.kind != valid.kind
    {
        return Err(SaveFailure::Invalid(vec![FieldError {
            field: "kind",
            message: "The kind of an integration cannot change".into(),
        }]));
    }
    if let Some(e) = &existing
        && valid.secret.is_none()
        && moved_elsewhere(&e.base_url, &valid.base_url)
    {
        return Err(SaveFailure::Invalid(vec![FieldError {
            field: "secret",
            message: "The address changed (scheme, host or port): enter the secret again. A stored secret is only \
                      sent to the address it was saved for"
                .into(),
        }]));
    }
    if let Err(blocked) = outbound.guard.check_destination(&valid.base_url).await {
        return Err(SaveFailure::Invalid(vec![FieldError {
            field: "base_url",
            message: UpstreamError::Blocked(blocked.0).to_string(),
        }]));
    }
    if db::integrations::name_taken(db, &valid.name, existing.as_ref().map(|e| e.id)).await? {
        return Err(SaveFailure::Invalid(vec![FieldError {
            field: "name",
            message: format!("An integration named {:?} already exists", valid.name),
        }]));
    }
    let report = if run_test {
        let secret = match (&valid.secret, &existing) {
            (Some(s), _) => s.clone(),
            (None, Some(e)) => db::integrations::decrypt_secret(vault, e).map_err(SaveError::from)?,
            (None, None) => return Err(SaveFailure::Save(SaveError::MissingSecret)),
        };
        let target = Target {
            flavour: valid.flavour,
            base_url: &valid.base_url,
            username: valid.username.as_deref(),
            secret: &secret,
            settings: &valid.settings,
        };
        let report = connection::test(&target, outbound).await;
        if !report.ok {
            return Err(SaveFailure::TestFailed(report));
        }
        // A preview that cannot be read does not stop a save the connection test passed.
        if checks == Checks::TestAndPreview
            && let Settings::Github(s) = &valid.settings
            && let Ok(p) = preview::preview(&target, s, outbound).await
            && p.matches_nothing()
        {
            return Err(SaveFailure::NothingMatches(Box::new(p)));
        }
        Some(report)
    } else {
        None
    };
    let outcome = report.as_ref().map(|r| TestOutcome {
        ok: r.ok,
        message: &r.summary,
    });
    let row = match existing {
        Some(e) => db::integrations::update(db, vault, e, &valid, outcome).await?,
        None => {
            valid.active = input.active.unwrap_or(true);
            db::integrations::create(db, vault, &valid, outcome).await?
        }
    };
    Ok(Saved { row, report })
}

/// Whether a new URL points at another server than the stored one: scheme, host or port
/// differ (a path change on the same server keeps the secret, as GitHub and Grafana do).
fn moved_elsewhere(stored: &str, new: &Url) -> bool {
    match Url::parse(stored) {
        Ok(old) => old.origin() != new.origin(),
        Err(_) => true,
    }
}

/// Tests a stored integration with its stored secret and records the result.
pub async fn test_stored(
    db: &DatabaseConnection,
    vault: &Vault,
    outbound: Outbound,
    row: integrations::Model,
) -> Result<(integrations::Model, TestReport), SaveFailure> {
    let secret = db::integrations::decrypt_secret(vault, &row).map_err(SaveError::from)?;
    let flavour = row.flavour;
    let kind = row.kind;
    let settings = Settings::from_json(kind, &row.settings);
    let base_url = Url::parse(&row.base_url).map_err(|e| {
        SaveFailure::Invalid(vec![FieldError {
            field: "base_url",
            message: format!("The stored URL is invalid: {e}"),
        }])
    })?;
    let target = Target {
        flavour,
        base_url: &base_url,
        username: row.username.as_deref(),
        secret: &secret,
        settings: &settings,
    };
    let report = connection::test(&target, outbound).await;
    let row = db::integrations::record_test(db, row, report.ok, &report.summary).await?;
    Ok((row, report))
}
