//! Which replica runs the orchestrator. On SQLite there is one process and it always leads. On
//! PostgreSQL every process competes for the `leader_lease` row: the holder renews it every
//! third of the lease, the others try to take it every [`FOLLOWER_POLL`]. A holder that cannot
//! renew before its own deadline (counted from when it *sent* the last successful renewal, so
//! never later than the database's expiry) becomes a follower at once, and its running job stops.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::db;

/// How often a follower tries to take the lease (a dead leader is replaced at most this long
/// after its lease expired).
pub const FOLLOWER_POLL: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Runs the orchestrator; `epoch` is the lease's fencing epoch when it was taken.
    Leader {
        epoch: i64,
    },
    Follower,
}

/// This process's place among the replicas, cheap to clone.
#[derive(Clone)]
pub struct Leadership {
    /// This process's name (the lease holder and the jobs' `lease_owner`).
    pub id: String,
    role: Option<watch::Receiver<Role>>,
}

impl Leadership {
    /// The only process (SQLite): always the leader.
    pub fn single(id: String) -> Self {
        Self { id, role: None }
    }

    pub fn is_replicated(&self) -> bool {
        self.role.is_some()
    }

    pub fn role(&self) -> Role {
        match &self.role {
            Some(rx) => *rx.borrow(),
            None => Role::Leader { epoch: 0 },
        }
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.role(), Role::Leader { .. })
    }

    /// A receiver of role changes (`None` when the role never changes).
    pub fn watch(&self) -> Option<watch::Receiver<Role>> {
        self.role.clone()
    }
}

/// Joins the election: one attempt now (so a lone replica leads before it serves), then a task
/// renewing or retrying until `shutdown`. The lease itself is released by the orchestrator once
/// its job has stopped.
pub async fn join(db: DatabaseConnection, id: String, lease: Duration, shutdown: CancellationToken) -> Leadership {
    let (tx, rx) = watch::channel(Role::Follower);
    let mut elector = Elector {
        db,
        id: id.clone(),
        lease,
        tx,
        deadline: None,
    };
    elector.attempt().await;
    tokio::spawn(elector.run(shutdown));
    Leadership { id, role: Some(rx) }
}

struct Elector {
    db: DatabaseConnection,
    id: String,
    lease: Duration,
    tx: watch::Sender<Role>,
    /// While leading: when our hold ends unless renewed.
    deadline: Option<Instant>,
}

impl Elector {
    async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let every = if self.deadline.is_some() {
                self.lease / 3
            } else {
                FOLLOWER_POLL
            };
            let next = Instant::now() + every;
            let wake = self.deadline.map_or(next, |d| d.min(next));
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = shutdown.cancelled() => return,
            }
            self.expire_if_due();
            if Instant::now() >= next {
                self.attempt().await;
            }
        }
    }

    async fn attempt(&mut self) {
        let sent = Instant::now();
        // Never wait on the database past our own deadline: losing the lease must be noticed.
        let budget = self
            .deadline
            .map_or(self.lease / 3, |d| d.saturating_duration_since(sent))
            .max(Duration::from_millis(50));
        match tokio::time::timeout(budget, db::leader::acquire(&self.db, &self.id, self.lease)).await {
            Ok(Ok(Some(epoch))) => {
                self.deadline = Some(sent + self.lease);
                self.set(Role::Leader { epoch });
            }
            Ok(Ok(None)) => {
                self.deadline = None;
                self.set(Role::Follower);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "leader lease: cannot reach the database");
                self.expire_if_due();
            }
            Err(_) => {
                tracing::warn!("leader lease: the database did not answer in time");
                self.expire_if_due();
            }
        }
    }

    fn expire_if_due(&mut self) {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            tracing::error!(replica = %self.id, "lost the leader lease (not renewed in time)");
            self.deadline = None;
            self.set(Role::Follower);
        }
    }

    fn set(&self, role: Role) {
        self.tx.send_if_modified(|r| {
            if *r == role {
                return false;
            }
            match role {
                Role::Leader { epoch } => {
                    tracing::info!(replica = %self.id, epoch, "leading: this replica runs the orchestrator")
                }
                Role::Follower => {
                    tracing::info!(replica = %self.id, "following: another replica runs the orchestrator")
                }
            }
            *r = role;
            true
        });
    }
}
