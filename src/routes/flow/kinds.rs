//! The three kinds of flow configuration (steps, status mappings, issue-type mappings) as the
//! `/flow` pages and the `/api/v1/flow` API edit them: how to find a row, draft it, validate,
//! save, and remove it. The handlers in `routes::flow` are written once over [`FlowKind`];
//! `with_kind!` picks the kind from the URL segment. The API adds its JSON side in
//! `routes::flow_api::kinds`.

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
use crate::views::flow::{Choice, Forms, Kind, forms};

/// A removal carried out: each removed row with the row that took over its dependents.
pub type Plan = Vec<(i64, Option<i64>)>;

/// One kind of flow configuration row.
pub trait FlowKind {
    /// The URL segment and the noun.
    const KIND: Kind;
    type Row: Clone;
    type Draft: Default;
    type Valid;

    fn find(cfg: &Config, id: i64) -> Option<&Self::Row>;
    /// How notices and dialogs name the row.
    fn name(row: &Self::Row, resolver: &FlowResolver) -> String;
    /// What the row is called or maps: the step's name, the Jira status, the Jira issue type.
    fn key(row: &Self::Row) -> &str;
    /// The row as its form shows it.
    fn draft(row: &Self::Row) -> Self::Draft;
    /// What was typed into the form.
    fn typed(form: &FormBody) -> Self::Draft;
    fn set_active(draft: &mut Self::Draft, active: bool);
    fn validate(draft: &Self::Draft, cfg: &FlowResolver, id: Option<i64>) -> Result<Self::Valid, Vec<FieldError>>;
    async fn create(db: &DatabaseConnection, valid: &Self::Valid) -> Result<Self::Row, DbErr>;
    async fn update(db: &DatabaseConnection, row: Self::Row, valid: &Self::Valid) -> Result<Self::Row, DbErr>;
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
    /// Deletes or deactivates the rows, each handing its dependents to its target, in one go.
    async fn remove(db: &DatabaseConnection, removals: &[Removal], deactivate: bool) -> Result<Plan, RemoveError>;
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
    const KIND: Kind = Kind::Step;
    type Row = flow_steps::Model;
    type Draft = StepDraft;
    type Valid = ValidStep;

    fn find(cfg: &Config, id: i64) -> Option<&Self::Row> {
        cfg.steps.iter().find(|s| s.id == id)
    }
    fn name(row: &Self::Row, _: &FlowResolver) -> String {
        row.name.clone()
    }
    fn key(row: &Self::Row) -> &str {
        &row.name
    }
    fn draft(row: &Self::Row) -> StepDraft {
        StepDraft {
            name: row.name.clone(),
            category: row.category.as_str().to_string(),
            position: row.position.to_string(),
            is_commitment_point: row.is_commitment_point,
            active: row.active,
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
    async fn create(db: &DatabaseConnection, valid: &ValidStep) -> Result<Self::Row, DbErr> {
        db::flow::save::create_step(db, valid).await
    }
    async fn update(db: &DatabaseConnection, row: Self::Row, valid: &ValidStep) -> Result<Self::Row, DbErr> {
        db::flow::save::update_step(db, row, valid).await
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
    async fn remove(db: &DatabaseConnection, removals: &[Removal], deactivate: bool) -> Result<Plan, RemoveError> {
        db::flow::remove::remove_steps(db, removals, deactivate).await
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
    const KIND: Kind = Kind::StatusMapping;
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
    fn key(row: &Self::Row) -> &str {
        &row.status_from
    }
    fn draft(row: &Self::Row) -> StatusMappingDraft {
        StatusMappingDraft {
            status_from: row.status_from.clone(),
            flow_step_id: row.flow_step_id.to_string(),
            issue_type_mapping_id: row.issue_type_mapping_id.map(|i| i.to_string()).unwrap_or_default(),
            active: row.active,
        }
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
    async fn create(db: &DatabaseConnection, valid: &ValidStatusMapping) -> Result<Self::Row, DbErr> {
        db::flow::save::create_status_mapping(db, valid).await
    }
    async fn update(db: &DatabaseConnection, row: Self::Row, valid: &ValidStatusMapping) -> Result<Self::Row, DbErr> {
        db::flow::save::update_status_mapping(db, row, valid).await
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
    /// One by one (no route removes several): nothing references a status mapping, so nothing moves.
    async fn remove(db: &DatabaseConnection, removals: &[Removal], deactivate: bool) -> Result<Plan, RemoveError> {
        for r in removals {
            db::flow::remove::remove_status_mapping(db, r.id, deactivate).await?;
        }
        Ok(removals.iter().map(|r| (r.id, None)).collect())
    }
    /// A status mapping has no dependents to move.
    fn target(_: &Config, _: &FlowResolver, _: i64) -> Option<Choice> {
        None
    }
}

impl FlowKind for IssueTypeMappings {
    const KIND: Kind = Kind::IssueTypeMapping;
    type Row = issue_type_mappings::Model;
    type Draft = IssueTypeMappingDraft;
    type Valid = ValidIssueTypeMapping;

    fn find(cfg: &Config, id: i64) -> Option<&Self::Row> {
        cfg.issue_type_mappings.iter().find(|t| t.id == id)
    }
    fn name(row: &Self::Row, _: &FlowResolver) -> String {
        row.issuetype_from.clone()
    }
    fn key(row: &Self::Row) -> &str {
        &row.issuetype_from
    }
    fn draft(row: &Self::Row) -> IssueTypeMappingDraft {
        IssueTypeMappingDraft {
            issuetype_from: row.issuetype_from.clone(),
            issuetype_to: row.issuetype_to.clone(),
            work_category: row.work_category.as_str().to_string(),
            hierarchy_level: row.hierarchy_level.to_string(),
            active: row.active,
        }
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
    async fn create(db: &DatabaseConnection, valid: &ValidIssueTypeMapping) -> Result<Self::Row, DbErr> {
        db::flow::save::create_issue_type_mapping(db, valid).await
    }
    async fn update(
        db: &DatabaseConnection,
        row: Self::Row,
        valid: &ValidIssueTypeMapping,
    ) -> Result<Self::Row, DbErr> {
        db::flow::save::update_issue_type_mapping(db, row, valid).await
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
    async fn remove(db: &DatabaseConnection, removals: &[Removal], deactivate: bool) -> Result<Plan, RemoveError> {
        db::flow::remove::remove_issue_type_mappings(db, removals, deactivate).await
    }
    fn target(cfg: &Config, _: &FlowResolver, id: i64) -> Option<Choice> {
        cfg.issue_type_mappings.iter().find(|x| x.id == id).map(|x| Choice {
            id: x.id,
            label: x.issuetype_from.clone(),
        })
    }
}
