//! Live status on every replica (PostgreSQL): the leader `NOTIFY`s its job events, every replica
//! `LISTEN`s and re-broadcasts the others' events to its own WebSockets. A follower also re-reads
//! the job rows every [`POLL`] and publishes what changed, in case a notification was lost (a
//! reconnecting listener misses what was sent meanwhile).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::OrchestratorHandle;
use super::events::{self, Event};
use super::remote::COMMANDS_CHANNEL;
use crate::db;
use crate::domain::job::{JobStatus, JobType};

/// The channel the leader announces job events on.
pub const EVENTS_CHANNEL: &str = "pulse_events";
/// How often a follower re-reads the job rows (the fallback when notifications are lost).
pub const POLL: Duration = Duration::from_secs(1);
/// Progress of one job is forwarded at most this often (the latest value wins).
const PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// Longest message or error copied into a notification (PostgreSQL caps payloads at 8000 bytes).
const TEXT_MAX: usize = 2000;
/// Pause before listening again after the database went away.
const RECONNECT: Duration = Duration::from_secs(1);

#[derive(Serialize, Deserialize)]
struct Envelope {
    /// The replica that sent it (a replica ignores its own).
    from: String,
    event: Event,
}

/// What a follower last told its clients about one job.
#[derive(Clone, Default, PartialEq)]
struct Seen {
    status: Option<JobStatus>,
    last_error: Option<String>,
    progress: i32,
    message: Option<String>,
}

#[derive(Clone, Default)]
struct Shared {
    seen: Arc<Mutex<HashMap<JobType, Seen>>>,
    /// The listener is connected (otherwise the poll also forwards progress).
    listening: Arc<AtomicBool>,
}

impl Shared {
    fn note(&self, event: &Event) {
        let Ok(mut seen) = self.seen.lock() else { return };
        match event {
            Event::JobStatus {
                job_type,
                status,
                progress,
                message,
                last_error,
                ..
            } => {
                seen.insert(
                    *job_type,
                    Seen {
                        status: Some(*status),
                        last_error: last_error.clone(),
                        progress: *progress,
                        message: message.clone(),
                    },
                );
            }
            Event::ProgressUpdate {
                job_type,
                progress,
                message,
            } => {
                let s = seen.entry(*job_type).or_default();
                s.progress = *progress;
                s.message = Some(message.clone());
            }
            Event::SystemHealth { .. } => {}
        }
    }
}

/// Starts the relay tasks (PostgreSQL replicas only).
pub fn spawn(db: DatabaseConnection, handle: OrchestratorHandle, shutdown: CancellationToken) {
    if !handle.leadership().is_replicated() {
        return;
    }
    let shared = Shared::default();
    tokio::spawn(outbound(db.clone(), handle.clone(), shutdown.clone()));
    tokio::spawn(listen(db.clone(), handle.clone(), shared.clone(), shutdown.clone()));
    tokio::spawn(poll(db, handle, shared, shutdown));
}

/// Leader: job events out to the other replicas, progress at most every [`PROGRESS_EVERY`].
async fn outbound(db: DatabaseConnection, handle: OrchestratorHandle, shutdown: CancellationToken) {
    let mut rx = handle.subscribe();
    let me = handle.leadership().id.clone();
    let mut last_sent: HashMap<JobType, Instant> = HashMap::new();
    let mut pending: HashMap<JobType, Event> = HashMap::new();
    let mut flush = tokio::time::interval(PROGRESS_EVERY);
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(ev) if handle.leadership().is_leader() => match &ev {
                    Event::JobStatus { job_type, .. } => {
                        pending.remove(job_type);
                        send(&db, &me, ev).await;
                    }
                    Event::ProgressUpdate { job_type, .. } => {
                        if last_sent.get(job_type).is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
                            pending.insert(*job_type, ev);
                        } else {
                            last_sent.insert(*job_type, Instant::now());
                            send(&db, &me, ev).await;
                        }
                    }
                    Event::SystemHealth { .. } => {}
                },
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            _ = flush.tick() => {
                for (job, ev) in std::mem::take(&mut pending) {
                    last_sent.insert(job, Instant::now());
                    send(&db, &me, ev).await;
                }
            }
            _ = shutdown.cancelled() => return,
        }
    }
}

async fn send(db: &DatabaseConnection, me: &str, mut event: Event) {
    match &mut event {
        Event::JobStatus {
            message, last_error, ..
        } => {
            for text in [message, last_error].into_iter().flatten() {
                truncate(text);
            }
        }
        Event::ProgressUpdate { message, .. } => truncate(message),
        Event::SystemHealth { .. } => {}
    }
    let envelope = Envelope {
        from: me.to_string(),
        event,
    };
    let Ok(payload) = serde_json::to_string(&envelope) else {
        return;
    };
    if let Err(e) = db::leader::notify(db, EVENTS_CHANNEL, &payload).await {
        tracing::debug!(error = %e, "could not announce a job event to the other replicas");
    }
}

fn truncate(text: &mut String) {
    if text.len() > TEXT_MAX {
        let mut end = TEXT_MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

/// Every replica: other replicas' events to our clients; queued controls wake the leader.
async fn listen(db: DatabaseConnection, handle: OrchestratorHandle, shared: Shared, shutdown: CancellationToken) {
    let me = handle.leadership().id.clone();
    loop {
        let connected = db::leader::listen(&db, &[EVENTS_CHANNEL, COMMANDS_CHANNEL]);
        let mut listener = tokio::select! {
            l = connected => match l {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for other replicas' events; polling meanwhile");
                    tokio::select! {
                        _ = tokio::time::sleep(RECONNECT) => continue,
                        _ = shutdown.cancelled() => return,
                    }
                }
            },
            _ = shutdown.cancelled() => return,
        };
        shared.listening.store(true, Ordering::Relaxed);
        loop {
            let next = tokio::select! {
                n = listener.try_recv() => n,
                _ = shutdown.cancelled() => return,
            };
            match next {
                Ok(Some(n)) => {
                    tracing::debug!(channel = n.channel(), "notification from a replica");
                    shared.listening.store(true, Ordering::Relaxed);
                    if n.channel() == COMMANDS_CHANNEL {
                        handle.wake();
                    } else if let Ok(env) = serde_json::from_str::<Envelope>(n.payload())
                        && env.from != me
                    {
                        shared.note(&env.event);
                        handle.publish(env.event);
                    }
                }
                // The connection dropped; the next call reconnects (what was sent meanwhile is lost).
                Ok(None) => shared.listening.store(false, Ordering::Relaxed),
                Err(e) => {
                    tracing::warn!(error = %e, "lost the listener for other replicas' events");
                    shared.listening.store(false, Ordering::Relaxed);
                    break;
                }
            }
        }
    }
}

/// Follower: publishes job changes the notifications did not bring.
async fn poll(db: DatabaseConnection, handle: OrchestratorHandle, shared: Shared, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(POLL);
    let mut primed = false;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        let Ok(rows) = db::jobs::all(&db).await else {
            continue;
        };
        let following = !handle.leadership().is_leader();
        let listening = shared.listening.load(Ordering::Relaxed);
        for row in &rows {
            let now = Seen {
                status: Some(row.status),
                last_error: row.last_error.clone(),
                progress: row.progress,
                message: row.progress_message.clone(),
            };
            let before = shared
                .seen
                .lock()
                .ok()
                .and_then(|mut s| s.insert(row.job_type, now.clone()));
            if !primed || !following {
                continue;
            }
            let before = before.unwrap_or_default();
            if before.status != now.status || before.last_error != now.last_error {
                handle.publish(events::job_status(row, &rows));
            } else if !listening && (before.progress, &before.message) != (now.progress, &now.message) {
                handle.publish(Event::ProgressUpdate {
                    job_type: row.job_type,
                    progress: now.progress,
                    message: now.message.clone().unwrap_or_default(),
                });
            }
        }
        primed = true;
    }
}
