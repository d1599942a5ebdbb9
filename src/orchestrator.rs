//! The orchestrator (DESIGN §7): one task owns the schedule and the running job; a cloneable
//! handle sends it typed commands; every change is broadcast as an event. The `jobs` rows are
//! the durable truth and every transition is a conditional update.

mod actor;
pub mod events;
mod handle;
pub mod leader;
pub mod notify;
pub mod relay;
mod remote;
pub mod runner;
pub mod status;

use std::time::Duration;

pub use events::Event;
pub use handle::{ControlError, OrchestratorHandle, spawn};
pub use leader::{Leadership, Role};

/// How often a RUNNING job renews its lease (and its progress is written).
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A RUNNING job whose heartbeat is older than this is presumed dead (crash, kill -9);
/// the default of `JOB_LEASE_SECONDS`.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often the actor wakes when nothing is due, to reap stale leases.
pub const IDLE_TICK: Duration = Duration::from_secs(10);
/// The leader lease's default (`LEADER_LEASE_SECONDS`): a dead or cut-off leader is replaced
/// within this plus [`leader::FOLLOWER_POLL`].
pub const LEADER_LEASE: Duration = Duration::from_secs(15);
/// How often a leader among replicas looks for queued controls when no notification came.
pub const COMMAND_POLL: Duration = Duration::from_secs(1);
