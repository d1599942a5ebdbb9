//! The three kinds of flow configuration (steps, status mappings, issue-type mappings) as the
//! `/flow` pages edit them: how to find a row, draft it, validate, save, and remove it. The
//! handlers in `routes::flow` are written once over [`FlowKind`]; `with_kind!` picks the kind
//! from the URL segment.

use entity::{flow_steps, issue_type_mappings, status_mappings};
use maud::Markup;
use sea_orm::{DatabaseConnection, DbErr};

use super::FormBody;
use super::load::{self, Loaded};
use crate::db;
use crate::db::flow::Config;
use crate::db::flow::remove::{Impact, RemoveError};
use crate::domain::flow::FlowResolver;
use crate::domain::flow::input::{
    IssueTypeMappingDraft, StatusMappingDraft, StepDraft, ValidIssueTypeMapping, ValidStatusMapping, ValidStep,
};
use crate::domain::flow::reassign::Removal;
use crate::domain::settings::FieldError;
use crate::routes::flow_api::{issue_type_mapping_draft, status_mapping_draft, step_draft};
use crate::views::flow::{Choice, Forms, forms};

/// One kind of flow configuration row.
pub trait FlowKind {
    type Row: Clone;
    type Draft;
    type Valid;

    fn find(cfg: &Config, id: i64) -> Option<&Self::Row>;
    /// How notices and dialogs name the row.
    fn name(row: &Self::Row, resolver: &FlowResolver) -> String;
    /// The row as its form shows it.
    fn draft(row: &Self::Row) -> Self::Draft;
    /// What was typed into the form.
    fn typed(form: &FormBody) -> Self::Draft;
    fn set_active(draft: &mut Self::Draft, active: bool);
    fn validate(draft: &Self::Draft, cfg: &FlowResolver, id: Option<i64>) -> Result<Self::Valid, Vec<FieldError>>;
    /// Saves a new row; answers its name.
    async fn create(db: &DatabaseConnection, valid: &Self::Valid) -> Result<String, DbErr>;
    async fn update(db: &DatabaseConnection, row: Self::Row, valid: &Self::Valid) -> Result<String, DbErr>;
    /// Puts what was typed (and why it was refused) back into the page's "add" form.
    fn refill(forms: &mut Forms, draft: Self::Draft, errors: Vec<FieldError>);
    /// The edit dialog's title and form.
    fn edit_form(
        row: &Self::Row,
        draft: &Self::Draft,
        errors: &[FieldError],
        l: &Loaded,
        csrf: &str,
    ) -> (String, Markup);
    async fn impact(db: &DatabaseConnection, id: i64, deactivate: bool) -> Result<Option<Impact>, DbErr>;
    async fn remove(db: &DatabaseConnection, removal: Removal, deactivate: bool) -> Result<(), RemoveError>;
    /// A candidate to take over the row's dependents, labelled.
    fn target(cfg: &Config, resolver: &FlowResolver, id: i64) -> Option<Choice>;
    /// The candidate preselected in the removal dialog.
    fn preselect(_resolver: &FlowResolver, _id: i64, _targets: &[Choice]) -> Option<i64> {
        None
    }
}

pub struct Steps;
pub struct StatusMappings;
pub struct IssueTypeMappings;

impl FlowKind for Steps {
    type Row = flow_steps::Model;
    type Draft = StepDraft;
    type Valid = ValidStep;

    fn find(cfg: &Config, id: i64) -> Option<&Self::Row> {
        cfg.steps.iter().find(|s| s.id == id)
    }
    fn name(row: &Self::Row, _: &FlowResolver) -> String {
        row.name.clone()
    }
    /// With its position shown (the API's draft leaves it blank: unchanged).
    fn draft(row: &Self::Row) -> StepDraft {
        StepDraft {
            position: row.position.to_string(),
            ..step_draft(row)
        }
    }
    fn typed(form: &FormBody) -> StepDraft {
        form.step()
    }
    fn set_active(draft: &mut StepDraft, active: bool) {
        draft.active = active;
    }
    fn validate(draft: &StepDraft, cfg: &FlowResolver, id: Option<i64>) -> Result<ValidStep, Vec<FieldError>> {
        draft.validate(cfg, id)
    }
    async fn create(db: &DatabaseConnection, valid: &ValidStep) -> Result<String, DbErr> {
        Ok(db::flow::save::create_step(db, valid).await?.name)
    }
    async fn update(db: &DatabaseConnection, row: Self::Row, valid: &ValidStep) -> Result<String, DbErr> {
        Ok(db::flow::save::update_step(db, row, valid).await?.name)
    }
    fn refill(forms: &mut Forms, draft: StepDraft, errors: Vec<FieldError>) {
        (forms.step, forms.step_errors) = (draft, errors);
    }
    fn edit_form(
        row: &Self::Row,
        draft: &StepDraft,
        errors: &[FieldError],
        _: &Loaded,
        csrf: &str,
    ) -> (String, Markup) {
        (
            format!("Edit step “{}”", row.name),
            forms::edit_step(row.id, draft, errors, csrf),
        )
    }
    async fn impact(db: &DatabaseConnection, id: i64, _: bool) -> Result<Option<Impact>, DbErr> {
        db::flow::remove::step_impact(db, id).await
    }
    async fn remove(db: &DatabaseConnection, removal: Removal, deactivate: bool) -> Result<(), RemoveError> {
        db::flow::remove::remove_steps(db, &[removal], deactivate)
            .await
            .map(drop)
    }
    fn target(_: &Config, resolver: &FlowResolver, id: i64) -> Option<Choice> {
        resolver.step(id).map(load::step_choice)
    }
    /// A step of the same category: the usual intent when merging steps.
    fn preselect(resolver: &FlowResolver, id: i64, targets: &[Choice]) -> Option<i64> {
        let category = resolver.step(id).map(|s| s.category);
        targets
            .iter()
            .find(|t| resolver.step(t.id).map(|s| s.category) == category)
            .map(|t| t.id)
    }
}

impl FlowKind for StatusMappings {
    type Row = status_mappings::Model;
    type Draft = StatusMappingDraft;
    type Valid = ValidStatusMapping;

    fn find(cfg: &Config, id: i64) -> Option<&Self::Row> {
        cfg.status_mappings.iter().find(|m| m.id == id)
    }
    fn name(row: &Self::Row, resolver: &FlowResolver) -> String {
        resolver
            .status_mappings()
            .iter()
            .find(|m| m.id == row.id)
            .map_or_else(|| row.status_from.clone(), |m| load::status_label(resolver, m))
    }
    fn draft(row: &Self::Row) -> StatusMappingDraft {
        status_mapping_draft(row)
    }
    fn typed(form: &FormBody) -> StatusMappingDraft {
        form.status_mapping()
    }
    fn set_active(draft: &mut StatusMappingDraft, active: bool) {
        draft.active = active;
    }
    fn validate(
        draft: &StatusMappingDraft,
        cfg: &FlowResolver,
        id: Option<i64>,
    ) -> Result<ValidStatusMapping, Vec<FieldError>> {
        draft.validate(cfg, id)
    }
    async fn create(db: &DatabaseConnection, valid: &ValidStatusMapping) -> Result<String, DbErr> {
        Ok(db::flow::save::create_status_mapping(db, valid).await?.status_from)
    }
    async fn update(db: &DatabaseConnection, row: Self::Row, valid: &ValidStatusMapping) -> Result<String, DbErr> {
        Ok(db::flow::save::update_status_mapping(db, row, valid).await?.status_from)
    }
    fn refill(forms: &mut Forms, draft: StatusMappingDraft, errors: Vec<FieldError>) {
        (forms.status_mapping, forms.status_mapping_errors) = (draft, errors);
    }
    fn edit_form(
        row: &Self::Row,
        draft: &StatusMappingDraft,
        errors: &[FieldError],
        l: &Loaded,
        csrf: &str,
    ) -> (String, Markup) {
        let choices = (&l.step_choices[..], &l.issue_type_choices[..]);
        (
            format!("Edit mapping of “{}”", row.status_from),
            forms::edit_status_mapping(row.id, draft, errors, choices, csrf),
        )
    }
    async fn impact(db: &DatabaseConnection, id: i64, _: bool) -> Result<Option<Impact>, DbErr> {
        db::flow::remove::status_mapping_impact(db, id).await
    }
    async fn remove(db: &DatabaseConnection, removal: Removal, deactivate: bool) -> Result<(), RemoveError> {
        db::flow::remove::remove_status_mapping(db, removal.id, deactivate).await
    }
    /// A status mapping has no dependents to move.
    fn target(_: &Config, _: &FlowResolver, _: i64) -> Option<Choice> {
        None
    }
}

impl FlowKind for IssueTypeMappings {
    type Row = issue_type_mappings::Model;
    type Draft = IssueTypeMappingDraft;
    type Valid = ValidIssueTypeMapping;

    fn find(cfg: &Config, id: i64) -> Option<&Self::Row> {
        cfg.issue_type_mappings.iter().find(|t| t.id == id)
    }
    fn name(row: &Self::Row, _: &FlowResolver) -> String {
        row.issuetype_from.clone()
    }
    fn draft(row: &Self::Row) -> IssueTypeMappingDraft {
        issue_type_mapping_draft(row)
    }
    fn typed(form: &FormBody) -> IssueTypeMappingDraft {
        form.issue_type_mapping()
    }
    fn set_active(draft: &mut IssueTypeMappingDraft, active: bool) {
        draft.active = active;
    }
    fn validate(
        draft: &IssueTypeMappingDraft,
        cfg: &FlowResolver,
        id: Option<i64>,
    ) -> Result<ValidIssueTypeMapping, Vec<FieldError>> {
        draft.validate(cfg, id)
    }
    async fn create(db: &DatabaseConnection, valid: &ValidIssueTypeMapping) -> Result<String, DbErr> {
        Ok(db::flow::save::create_issue_type_mapping(db, valid)
            .await?
            .issuetype_from)
    }
    async fn update(db: &DatabaseConnection, row: Self::Row, valid: &ValidIssueTypeMapping) -> Result<String, DbErr> {
        Ok(db::flow::save::update_issue_type_mapping(db, row, valid)
            .await?
            .issuetype_from)
    }
    fn refill(forms: &mut Forms, draft: IssueTypeMappingDraft, errors: Vec<FieldError>) {
        (forms.issue_type_mapping, forms.issue_type_mapping_errors) = (draft, errors);
    }
    fn edit_form(
        row: &Self::Row,
        draft: &IssueTypeMappingDraft,
        errors: &[FieldError],
        _: &Loaded,
        csrf: &str,
    ) -> (String, Markup) {
        (
            format!("Edit issue type “{}”", row.issuetype_from),
            forms::edit_issue_type_mapping(row.id, draft, errors, csrf),
        )
    }
    async fn impact(db: &DatabaseConnection, id: i64, deactivate: bool) -> Result<Option<Impact>, DbErr> {
        db::flow::remove::issue_type_mapping_impact(db, id, deactivate).await
    }
    async fn remove(db: &DatabaseConnection, removal: Removal, deactivate: bool) -> Result<(), RemoveError> {
        db::flow::remove::remove_issue_type_mappings(db, &[removal], deactivate)
            .await
            .map(drop)
    }
    fn target(cfg: &Config, _: &FlowResolver, id: i64) -> Option<Choice> {
        cfg.issue_type_mappings.iter().find(|x| x.id == id).map(|x| Choice {
            id: x.id,
            label: x.issuetype_from.clone(),
        })
    }
}
