//! Job controls received by a follower: queued in `orchestrator_commands`, announced with
//! `NOTIFY`, carried out by the leader (which also polls the queue, in case a notification is
//! lost), answered through the same row.

use std::time::Duration;

use entity::jobs;
use sea_orm::{DatabaseConnection, DbErr};

use super::handle::ControlError;
use crate::db;
use crate::domain::job::{Action, JobType};

/// The channel a follower notifies when it queues a control.
pub const COMMANDS_CHANNEL: &str = "pulse_commands";
/// How long a follower waits for the leader to take a control before answering 503.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the follower looks for the leader's answer.
const ANSWER_POLL: Duration = Duration::from_millis(20);

/// Forwards a control to the leader and waits for its answer.
pub async fn act(
    db: &DatabaseConnection,
    job: JobType,
    action: Action,
    user: &str,
) -> Result<jobs::Model, ControlError> {
    let id = db::commands::enqueue(db, job.as_str(), action.as_str(), user).await?;
    db::leader::notify(db, COMMANDS_CHANNEL, &id.to_string()).await?;
    let deadline = tokio::time::Instant::now() + FORWARD_TIMEOUT;
    loop {
        tokio::time::sleep(ANSWER_POLL).await;
        match db::commands::state(db, id).await? {
            Some((state, error)) if state == "done" => {
                if let Some(why) = error {
                    return Err(ControlError::Refused(why));
                }
                return db::jobs::find(db, job)
                    .await?
                    .ok_or_else(|| DbErr::RecordNotFound(job.to_string()).into());
            }
            _ if tokio::time::Instant::now() >= deadline && db::commands::expire(db, id).await? => {
                return Err(ControlError::NoLeader);
            }
            _ => {}
        }
    }
}

/// A queued control, parsed (the leader refuses what it cannot parse).
pub fn parse(q: &db::commands::Queued) -> Option<(JobType, Action)> {
    Some((JobType::parse(&q.job_type)?, Action::parse(&q.action)?))
}
