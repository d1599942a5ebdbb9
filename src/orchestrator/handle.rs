//! The cloneable way in: typed commands with oneshot replies, and the event broadcast.

use std::time::Duration;

use entity::jobs;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::actor::Actor;
use super::events::Event;
use super::leader::Leadership;
use super::remote;
use super::runner::{JobDeps, Outcome};
use crate::domain::job::{Action, JobType};

/// Events buffered per subscriber; a slower one gets `Lagged` and re-reads a snapshot.
const EVENT_BUFFER: usize = 256;

pub enum Command {
    Act {
        job: JobType,
        action: Action,
        user: String,
        reply: oneshot::Sender<Result<jobs::Model, ControlError>>,
    },
    SettingsChanged(oneshot::Sender<()>),
    Finished {
        job: JobType,
        run_id: i64,
        outcome: Outcome,
    },
    /// Run the schedule now (tests use it instead of waiting).
    Tick(oneshot::Sender<()>),
    /// A follower queued a control (the leader takes it from the queue).
    Wake,
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The state machine refuses (answered with 409 and this reason).
    #[error("{0}")]
    Refused(String),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("the orchestrator is not running")]
    Gone,
    /// A follower's control was not taken by any leader in time.
    #[error("no replica runs the orchestrator right now (a failover may be in progress); try again in a few seconds")]
    NoLeader,
}

#[derive(Clone)]
pub struct OrchestratorHandle {
    tx: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
    db: DatabaseConnection,
    leadership: Leadership,
}

impl OrchestratorHandle {
    /// Every job's status and the system health, for a listener that just connected (or fell
    /// behind).
    pub async fn snapshot(&self) -> Vec<Event> {
        super::status::snapshot(&self.db).await
    }

    /// The system health now.
    pub async fn system_health(&self) -> Event {
        super::status::health(&self.db).await
    }

    /// Start, pause, resume or force-stop a job; answers with the job row after the change.
    /// On a follower the control goes to the leader through the database.
    pub async fn act(&self, job: JobType, action: Action, user: &str) -> Result<jobs::Model, ControlError> {
        if !self.leadership.is_leader() {
            return remote::act(&self.db, job, action, user).await;
        }
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Act {
                job,
                action,
                user: user.to_string(),
                reply,
            })
            .await
            .map_err(|_| ControlError::Gone)?;
        rx.await.map_err(|_| ControlError::Gone)?
    }

    /// Settings changed: recompute the next run at once.
    pub async fn settings_changed(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::SettingsChanged(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Process due schedule work now and wait until it is done.
    pub async fn tick(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Tick(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// A follower queued a control: take it now rather than at the next poll.
    pub fn wake(&self) {
        let _ = self.tx.try_send(Command::Wake);
    }

    pub fn leadership(&self) -> &Leadership {
        &self.leadership
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub fn publish(&self, event: Event) {
        let _ = self.events.send(event);
    }

    pub fn is_alive(&self) -> bool {
        !self.tx.is_closed()
    }
}

/// Starts the actor (once, at start-up). It stops when `shutdown` is cancelled.
/// `lease`: how old a RUNNING job's heartbeat may get before the job is presumed dead.
pub fn spawn(
    deps: JobDeps,
    leadership: Leadership,
    lease: Duration,
    shutdown: CancellationToken,
) -> OrchestratorHandle {
    let (tx, rx) = mpsc::channel(64);
    let (events, _) = broadcast::channel(EVENT_BUFFER);
    let handle = OrchestratorHandle {
        tx: tx.clone(),
        events: events.clone(),
        db: deps.db.clone(),
        leadership: leadership.clone(),
    };
    let actor = Actor::new(deps, leadership, lease, tx, events);
    tokio::spawn(actor.run(rx, shutdown));
    handle
}
