//! What the DORA report reads besides the precomputed rows, for the deployments of one report:
//! the shipped pull requests' titles, branches and issue links (rework), reverts, failed
//! production deployments, and each repository's GitHub settings (hotfix glob, failure signals).
//! Read per report rather than precomputed: each answer depends on rows other than the pull
//! request's own (the linked issue's category, the integration's settings, later reverts), which
//! an incremental pass would have to track (docs/decisions.md, "Deployment rework rate").

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::enums::IntegrationKind;
use entity::{deployments, integrations, pr_issue_links, pr_stage_times, pull_requests, repositories};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QuerySelect, RelationTrait};

use crate::domain::integration::{GithubSettings, Settings};

/// Ids per `IN (…)` list.
const IDS: usize = 500;

/// A pull request as the rework and revert rules read it.
#[derive(Clone, Debug, PartialEq)]
pub struct PullFacts {
    pub id: i64,
    pub repository_id: i64,
    pub number: i32,
    pub title: String,
    pub head_ref: String,
    pub merged_at: Option<DateTime<Utc>>,
}

type PullRow = (i64, i64, i32, String, String, Option<DateTime<Utc>>);

fn pull_facts(rows: Vec<PullRow>) -> impl Iterator<Item = PullFacts> {
    rows.into_iter()
        .map(|(id, repository_id, number, title, head_ref, merged_at)| PullFacts {
            id,
            repository_id,
            number,
            title,
            head_ref,
            merged_at,
        })
}

fn pull_columns() -> sea_orm::Select<pull_requests::Entity> {
    use pull_requests::Column as C;
    pull_requests::Entity::find().select_only().columns([
        C::Id,
        C::RepositoryId,
        C::Number,
        C::Title,
        C::HeadRef,
        C::MergedAt,
    ])
}

/// Title, head branch and merge of these pull requests.
pub async fn pull_requests_of(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<PullFacts>, DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IDS) {
        let rows: Vec<PullRow> = pull_columns()
            .filter(pull_requests::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(pull_facts(rows));
    }
    Ok(out)
}

/// Merged pull requests of these repositories whose title starts like a revert's, merged at or
/// after `since`.
pub async fn reverts(
    db: &impl ConnectionTrait,
    repositories: &[i64],
    since: DateTime<Utc>,
) -> Result<Vec<PullFacts>, DbErr> {
    use crate::domain::metrics::rework::REVERT_PREFIX;
    use pull_requests::Column as C;
    let mut out = Vec::new();
    for chunk in repositories.chunks(IDS) {
        let rows: Vec<PullRow> = pull_columns()
            .filter(C::RepositoryId.is_in(chunk.to_vec()))
            .filter(C::MergedAt.gte(since))
            .filter(C::Title.starts_with(REVERT_PREFIX))
            .into_tuple()
            .all(db)
            .await?;
        // LIKE ignores case on SQLite, not on PostgreSQL: the prefix is checked here alike.
        out.extend(pull_facts(rows).filter(|p| p.title.starts_with(REVERT_PREFIX)));
    }
    Ok(out)
}

/// Merged pull requests of these repositories titled one of `titles` (what reverts revert).
pub async fn titled(
    db: &impl ConnectionTrait,
    repositories: &[i64],
    titles: &[String],
) -> Result<Vec<PullFacts>, DbErr> {
    use pull_requests::Column as C;
    let mut out = Vec::new();
    for chunk in titles.chunks(IDS) {
        let rows: Vec<PullRow> = pull_columns()
            .filter(C::RepositoryId.is_in(repositories.to_vec()))
            .filter(C::MergedAt.is_not_null())
            .filter(C::Title.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(pull_facts(rows));
    }
    Ok(out)
}

/// The facts of the rework candidates among the pull requests shipped by deployments deployed
/// at or after `since`: `candidates` (found by their titles and branches in the snapshot), and
/// those linked to one of `incident_keys`. With them, their links to `incident_keys`: (pull
/// request, key).
pub async fn rework_candidates(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
    candidates: &[i64],
    incident_keys: &[String],
) -> Result<(Vec<PullFacts>, Vec<(i64, String)>), DbErr> {
    let shipped = || pr_stage_times::Relation::PullRequests.def().rev();
    let mut links = Vec::new();
    for chunk in incident_keys.chunks(IDS) {
        let rows: Vec<(i64, String)> = pr_issue_links::Entity::find()
            .select_only()
            .column(pr_issue_links::Column::PullRequestId)
            .column(pr_issue_links::Column::IssueKey)
            .join(JoinType::InnerJoin, pr_issue_links::Relation::PullRequests.def())
            .join(JoinType::InnerJoin, shipped())
            .filter(pr_stage_times::Column::DeployedAt.gte(since))
            .filter(pr_issue_links::Column::IssueKey.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        links.extend(rows);
    }
    let mut ids: Vec<i64> = candidates.iter().copied().chain(links.iter().map(|l| l.0)).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok((pull_requests_of(db, &ids).await?, links))
}

/// The issue keys these pull requests link to: (pull request, key). Matched to issues by the
/// caller: a join on the key would scan the issues (their index leads with the integration).
pub async fn linked_keys(db: &impl ConnectionTrait, pull_requests: &[i64]) -> Result<Vec<(i64, String)>, DbErr> {
    let mut out = Vec::new();
    for chunk in pull_requests.chunks(IDS) {
        let rows: Vec<(i64, String)> = pr_issue_links::Entity::find()
            .select_only()
            .column(pr_issue_links::Column::PullRequestId)
            .column(pr_issue_links::Column::IssueKey)
            .filter(pr_issue_links::Column::PullRequestId.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// Failed production deployments (status `failure` or `error`, failed at or after `since`) of
/// these repositories.
pub async fn failed_production(
    db: &impl ConnectionTrait,
    repositories: &[i64],
    since: DateTime<Utc>,
) -> Result<Vec<deployments::Model>, DbErr> {
    use deployments::Column as C;
    let mut out = Vec::new();
    for chunk in repositories.chunks(IDS) {
        out.extend(
            deployments::Entity::find()
                .filter(C::IsProduction.eq(true))
                .filter(C::Status.is_in(["failure", "error"]))
                .filter(C::FinishedAt.gte(since))
                .filter(C::RepositoryId.is_in(chunk.to_vec()))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Each GitHub repository's integration settings.
pub async fn github_settings(db: &impl ConnectionTrait) -> Result<HashMap<i64, GithubSettings>, DbErr> {
    let rows: Vec<(i64, serde_json::Value)> = repositories::Entity::find()
        .select_only()
        .column(repositories::Column::Id)
        .column(integrations::Column::Settings)
        .join(JoinType::InnerJoin, repositories::Relation::Integrations.def())
        .filter(integrations::Column::Kind.eq(IntegrationKind::Github))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(id, settings)| match Settings::from_json(IntegrationKind::Github, &settings) {
                Settings::Github(s) => Some((id, s)),
                // GitLab projects take the defaults (hotfix*, incidents only) for now.
                Settings::Jira(_) | Settings::Gitlab(_) => None,
            },
        )
        .collect())
}
