//! The JSON side of the three kinds of flow configuration: the body a `POST` or `PUT` carries,
//! the row as the API answers it, and the key of the list. The rest (find, validate, save,
//! impact, remove) is the kind's [`FlowKind`], shared with the `/flow` pages.

use entity::{flow_steps, issue_type_mappings, status_mappings};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use crate::db::flow::Config;
use crate::domain::flow::input::{IssueTypeMappingDraft, StatusMappingDraft, StepDraft};
use crate::routes::flow::kinds::{FlowKind, IssueTypeMappings, StatusMappings, Steps};

/// A [`FlowKind`] as the `/api/v1/flow/…` handlers see it.
pub trait ApiKind: FlowKind {
    /// What a `POST` or `PUT` carries: the fields to set, the others left as they are.
    type Body: DeserializeOwned;
    /// The key of the list answer, `{"steps": […]}`.
    const LIST: &'static str;
    /// Why `reassign_to` is refused, for a kind that nothing references.
    const NOTHING_TO_REASSIGN: Option<&'static str> = None;

    fn rows(cfg: &Config) -> &[Self::Row];
    fn json(row: &Self::Row) -> Value;
    /// The body's fields over `draft`.
    fn onto(body: Self::Body, draft: Self::Draft) -> Self::Draft;
    /// The row as a `PUT` starts from.
    fn unchanged(row: &Self::Row) -> Self::Draft {
        Self::draft(row)
    }
}

/// Every row of the kind, as the API answers it.
pub fn all<K: ApiKind>(cfg: &Config) -> Vec<Value> {
    K::rows(cfg).iter().map(K::json).collect()
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    name: Option<String>,
    category: Option<String>,
    position: Option<i32>,
    is_commitment_point: Option<bool>,
    active: Option<bool>,
    /// A row as `GET` returns it may be sent back: these are read-only and ignored.
    #[serde(default, rename = "id")]
    #[schema(read_only)]
    _id: Option<i64>,
    #[serde(default, rename = "created_at")]
    #[schema(value_type = Option<String>, read_only)]
    _created_at: Option<Value>,
    #[serde(default, rename = "updated_at")]
    #[schema(value_type = Option<String>, read_only)]
    _updated_at: Option<Value>,
}

impl ApiKind for Steps {
    type Body = StepBody;
    const LIST: &'static str = "steps";

    fn rows(cfg: &Config) -> &[flow_steps::Model] {
        &cfg.steps
    }
    fn json(m: &flow_steps::Model) -> Value {
        json!({"id": m.id, "name": m.name, "category": m.category, "position": m.position,
               "is_commitment_point": m.is_commitment_point, "active": m.active,
               "created_at": m.created_at, "updated_at": m.updated_at})
    }
    fn onto(b: StepBody, mut d: StepDraft) -> StepDraft {
        if let Some(v) = b.name {
            d.name = v;
        }
        if let Some(v) = b.category {
            d.category = v;
        }
        if let Some(v) = b.position {
            d.position = v.to_string();
        }
        if let Some(v) = b.is_commitment_point {
            d.is_commitment_point = v;
        }
        if let Some(v) = b.active {
            d.active = v;
            // Switching a step off also takes the commitment mark off, unless asked otherwise.
            if !v && b.is_commitment_point.is_none() {
                d.is_commitment_point = false;
            }
        }
        d
    }
    /// With its position blank: unchanged unless the body moves it.
    fn unchanged(row: &flow_steps::Model) -> StepDraft {
        StepDraft {
            position: String::new(),
            ..Self::draft(row)
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusMappingBody {
    status_from: Option<String>,
    flow_step_id: Option<i64>,
    /// `null` maps the status for every issue type.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    issue_type_mapping_id: Option<Option<i64>>,
    active: Option<bool>,
    /// A row as `GET` returns it may be sent back: these are read-only and ignored.
    #[serde(default, rename = "id")]
    #[schema(read_only)]
    _id: Option<i64>,
    #[serde(default, rename = "created_at")]
    #[schema(value_type = Option<String>, read_only)]
    _created_at: Option<Value>,
    #[serde(default, rename = "updated_at")]
    #[schema(value_type = Option<String>, read_only)]
    _updated_at: Option<Value>,
}

impl ApiKind for StatusMappings {
    type Body = StatusMappingBody;
    const LIST: &'static str = "status_mappings";
    const NOTHING_TO_REASSIGN: Option<&'static str> = Some(
        "nothing references a status mapping, so there is nothing to reassign: its issues re-resolve by themselves (see the impact)",
    );

    fn rows(cfg: &Config) -> &[status_mappings::Model] {
        &cfg.status_mappings
    }
    fn json(m: &status_mappings::Model) -> Value {
        json!({"id": m.id, "status_from": m.status_from, "flow_step_id": m.flow_step_id,
               "issue_type_mapping_id": m.issue_type_mapping_id, "active": m.active,
               "created_at": m.created_at, "updated_at": m.updated_at})
    }
    fn onto(b: StatusMappingBody, mut d: StatusMappingDraft) -> StatusMappingDraft {
        if let Some(v) = b.status_from {
            d.status_from = v;
        }
        if let Some(v) = b.flow_step_id {
            d.flow_step_id = v.to_string();
        }
        if let Some(v) = b.issue_type_mapping_id {
            d.issue_type_mapping_id = v.map(|i| i.to_string()).unwrap_or_default();
        }
        if let Some(v) = b.active {
            d.active = v;
        }
        d
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueTypeMappingBody {
    issuetype_from: Option<String>,
    issuetype_to: Option<String>,
    work_category: Option<String>,
    hierarchy_level: Option<i32>,
    active: Option<bool>,
    /// A row as `GET` returns it may be sent back: these are read-only and ignored.
    #[serde(default, rename = "id")]
    #[schema(read_only)]
    _id: Option<i64>,
    #[serde(default, rename = "created_at")]
    #[schema(value_type = Option<String>, read_only)]
    _created_at: Option<Value>,
    #[serde(default, rename = "updated_at")]
    #[schema(value_type = Option<String>, read_only)]
    _updated_at: Option<Value>,
}

impl ApiKind for IssueTypeMappings {
    type Body = IssueTypeMappingBody;
    const LIST: &'static str = "issue_type_mappings";

    fn rows(cfg: &Config) -> &[issue_type_mappings::Model] {
        &cfg.issue_type_mappings
    }
    fn json(m: &issue_type_mappings::Model) -> Value {
        json!({"id": m.id, "issuetype_from": m.issuetype_from, "issuetype_to": m.issuetype_to,
               "work_category": m.work_category, "hierarchy_level": m.hierarchy_level, "active": m.active,
               "created_at": m.created_at, "updated_at": m.updated_at})
    }
    fn onto(b: IssueTypeMappingBody, mut d: IssueTypeMappingDraft) -> IssueTypeMappingDraft {
        if let Some(v) = b.issuetype_from {
            d.issuetype_from = v;
        }
        if let Some(v) = b.issuetype_to {
            d.issuetype_to = v;
        }
        if let Some(v) = b.work_category {
            d.work_category = v;
        }
        if let Some(v) = b.hierarchy_level {
            d.hierarchy_level = v.to_string();
        }
        if let Some(v) = b.active {
            d.active = v;
        }
        d
    }
}
