//! The actor: owns the schedule and the running job.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use entity::jobs;
use sea_orm::DbErr;
use serde_json::json;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::events::Event;
use super::handle::{Command, ControlError};
use super::leader::{Leadership, Role};
use super::notify::{self, Notice, NoticeKind};
use super::runner::{self, JobDeps, Outcome};
use super::{COMMAND_POLL, HEARTBEAT, IDLE_TICK, remote};
use crate::domain::job::{self, Action, EventLevel, JobStatus, JobType, RunOutcome, RunTrigger};
use crate::integrations::control::{Interrupted, RunContext, RunControl};
use crate::{db, telemetry};

struct Running {
    job: JobType,
    run_id: i64,
    control: RunControl,
    ctx: RunContext,
    /// Who force-stopped it, if someone did (then no fast retry).
    stopped_by: Option<String>,
    /// The latest progress reported by the job, persisted on each heartbeat.
    progress: Arc<Mutex<(i32, String)>>,
    logged_message: String,
    /// This replica lost the leader lease (or the job's lease) while the job ran.
    lost: bool,
    started: std::time::Instant,
}

/// A run that ended while the database could not take its outcome (it failed *because* the
/// database went away, say). Recorded as soon as the database answers again, before the reaper
/// looks for stale jobs: it would call the run "stopped unexpectedly" and lose why it ended.
struct Unrecorded {
    running: Running,
    outcome: Outcome,
}

pub struct Actor {
    deps: JobDeps,
    owner: String,
    leadership: Leadership,
    /// Runs the schedule and jobs now (always on SQLite; the lease holder on PostgreSQL).
    leading: bool,
    /// A RUNNING row with an older heartbeat belongs to a dead process.
    lease: std::time::Duration,
    tx: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
    running: Option<Running>,
    /// The outcome of a finished run still to be written (see [`Unrecorded`]).
    unrecorded: Option<Unrecorded>,
    /// Why each PENDING job was queued (schedule, retry, manual).
    triggers: HashMap<JobType, RunTrigger>,
    shutting_down: bool,
}

/// The next role change; never resolves when the role cannot change (one process on SQLite).
async fn next_role(roles: &mut Option<tokio::sync::watch::Receiver<Role>>) -> Role {
    if let Some(rx) = roles
        && rx.changed().await.is_ok()
    {
        return *rx.borrow_and_update();
    }
    std::future::pending().await
}

impl Actor {
    pub fn new(
        deps: JobDeps,
        leadership: Leadership,
        lease: std::time::Duration,
        tx: mpsc::Sender<Command>,
        events: broadcast::Sender<Event>,
    ) -> Self {
        Self {
            deps,
            owner: leadership.id.clone(),
            leading: false,
            leadership,
            lease,
            tx,
            events,
            running: None,
            unrecorded: None,
            triggers: HashMap::new(),
            shutting_down: false,
        }
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<Command>, shutdown: CancellationToken) {
        telemetry::leading(false);
        if let Ok(rows) = db::jobs::all(&self.deps.db).await {
            for row in &rows {
                if let Some(at) = row.last_success_at {
                    telemetry::job_succeeded_at(row.job_type.as_str(), at);
                }
            }
        }
        let mut roles = self.leadership.watch();
        let role = self.leadership.role();
        self.on_role(role).await;
        loop {
            let wait = self.next_wake().await;
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.handle(cmd).await,
                    None => break,
                },
                _ = tokio::time::sleep(wait) => self.tick().await,
                _ = shutdown.cancelled(), if !self.shutting_down => self.begin_shutdown(),
                role = next_role(&mut roles) => self.on_role(role).await,
            }
            if self.shutting_down && self.running.is_none() {
                break;
            }
        }
        if self.leadership.is_replicated()
            && let Err(e) = db::leader::release(&self.deps.db, &self.owner).await
        {
            tracing::warn!(error = %e, "could not release the leader lease; it expires by itself");
        }
        tracing::info!("orchestrator stopped");
    }

    /// Leading starts with recovery: at start-up a stale heartbeat marks a dead process's job;
    /// after taking the lease over, every RUNNING job not ours is the previous leader's, which
    /// has stopped. Following stops our running job at once (no two writers).
    async fn on_role(&mut self, role: Role) {
        match role {
            Role::Leader { epoch } if !self.leading => {
                self.leading = true;
                telemetry::leading(true);
                tracing::info!(epoch, "orchestrator: leading");
                let r = self.recover().await;
                if let Err(e) = r {
                    tracing::error!(error = %e, "orchestrator: recovery failed");
                }
            }
            Role::Follower if self.leading => {
                self.leading = false;
                telemetry::leading(false);
                if let Some(r) = &mut self.running {
                    tracing::error!(
                        job = r.job.as_str(),
                        "lost the leader lease: stopping the running job now"
                    );
                    r.lost = true;
                    r.control.stop();
                }
            }
            _ => {}
        }
    }

    async fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Act {
                job,
                action,
                user,
                reply,
            } => {
                let result = self.act(job, action, &user).await;
                let _ = reply.send(result);
            }
            Command::SettingsChanged(done) => {
                if let Err(e) = self.reschedule().await {
                    tracing::error!(error = %e, "orchestrator: could not reschedule");
                }
                let _ = done.send(());
            }
            Command::Finished { job, run_id, outcome } => {
                if let Some(running) = self.running.take_if(|r| r.job == job && r.run_id == run_id) {
                    self.record_or_keep(Unrecorded { running, outcome }).await;
                }
                let r = self.dispatch().await;
                self.log_err(r);
            }
            Command::Tick(done) => {
                self.tick().await;
                let _ = done.send(());
            }
            Command::Wake => {
                let r = self.take_commands().await;
                self.log_err(r);
            }
        }
    }

    /// Carries out the controls followers queued (leader only).
    async fn take_commands(&mut self) -> Result<(), DbErr> {
        if !self.leading || !self.leadership.is_replicated() {
            return Ok(());
        }
        let max_age = remote::FORWARD_TIMEOUT.as_secs_f64();
        while let Some(q) = db::commands::take(&self.deps.db, max_age).await? {
            tracing::debug!(
                id = q.id,
                job = q.job_type,
                action = q.action,
                "control queued by a follower"
            );
            let error = match remote::parse(&q) {
                None => Some(format!("unknown control {} {}", q.job_type, q.action)),
                Some((job, action)) => self
                    .act(job, action, &q.requested_by)
                    .await
                    .err()
                    .map(|e| e.to_string()),
            };
            db::commands::complete(&self.deps.db, q.id, error.as_deref()).await?;
        }
        Ok(())
    }

    fn log_err(&self, r: Result<(), DbErr>) {
        if let Err(e) = r {
            tracing::error!(error = %e, "orchestrator: database error");
        }
    }

    /// On taking the lead: a RUNNING row with a stale heartbeat was left by a dead process; after
    /// a takeover from another replica, so was every RUNNING row not ours.
    async fn recover(&mut self) -> Result<(), DbErr> {
        let which = if self.leadership.is_replicated() {
            db::jobs::Stale::NotOwnedBy(&self.owner)
        } else {
            db::jobs::Stale::HeartbeatOlderThan(chrono::Duration::from_std(self.lease).unwrap_or_default())
        };
        let reaped = db::jobs::reap_stale(&self.deps.db, which).await?;
        for job in reaped {
            tracing::warn!(
                job = job.as_str(),
                "orchestrator: recovered an interrupted job; it resumes from its checkpoint"
            );
            self.publish_job(job).await;
        }
        let settings = db::settings::get(&self.deps.db).await?;
        if settings.enabled && settings.next_run_at.is_none() {
            self.reschedule().await?;
        }
        Ok(())
    }

    /// Writes a finished run's outcome; if the database does not take it, keeps it for the
    /// next tick.
    async fn record_or_keep(&mut self, u: Unrecorded) {
        match self.finished(&u.running, u.outcome.clone()).await {
            Ok(()) => {}
            Err(e) => {
                tracing::error!(
                    job = u.running.job.as_str(),
                    error = %e,
                    "orchestrator: could not record a finished run; retrying until the database answers"
                );
                self.unrecorded = Some(u);
            }
        }
    }

    /// How long until something is due (heartbeat while running, next run, next retry).
    async fn next_wake(&self) -> std::time::Duration {
        if self.running.is_some() || self.unrecorded.is_some() {
            return HEARTBEAT;
        }
        if !self.leading {
            return IDLE_TICK;
        }
        let mut due: Vec<DateTime<Utc>> = Vec::new();
        if let Ok(s) = db::settings::get(&self.deps.db).await
            && s.enabled
            && let Some(t) = s.next_run_at
        {
            due.push(t);
        }
        if let Ok(jobs) = db::jobs::all(&self.deps.db).await {
            due.extend(jobs.iter().filter_map(|j| j.next_retry_at));
            if jobs.iter().any(|j| j.status == JobStatus::Pending) {
                return std::time::Duration::ZERO;
            }
        }
        let now = Utc::now();
        due.into_iter()
            .map(|t| (t - now).to_std().unwrap_or_default())
            .min()
            .unwrap_or(IDLE_TICK)
            .min(IDLE_TICK)
            // Often enough to reap a dead process's job soon after its lease ran out.
            .min(self.lease / 2)
            // A leader among replicas also polls for queued controls (lost notifications).
            .min(if self.leadership.is_replicated() {
                COMMAND_POLL
            } else {
                IDLE_TICK
            })
    }

    async fn tick(&mut self) {
        if let Some(u) = self.unrecorded.take() {
            self.record_or_keep(u).await;
            if self.unrecorded.is_some() {
                return;
            }
        }
        if let Some(r) = &mut self.running {
            let (progress, message) = r.progress.lock().map(|p| p.clone()).unwrap_or_default();
            let job = r.job;
            if let Ok(false) = db::jobs::heartbeat(&self.deps.db, job, &self.owner).await
                && !r.lost
            {
                // Another process reaped it (our heartbeats stalled past the job lease).
                tracing::error!(job = job.as_str(), "the job's lease was taken over: stopping it now");
                r.lost = true;
                r.control.stop();
            }
            let _ = db::jobs::set_progress(&self.deps.db, job, &self.owner, progress, &message).await;
            if message != r.logged_message && !message.is_empty() {
                let _ = db::runs::log(&self.deps.db, r.run_id, EventLevel::Info, &message).await;
                r.logged_message = message;
            }
        }
        if !self.leading {
            return;
        }
        let r = self.take_commands().await;
        self.log_err(r);
        let lease = chrono::Duration::from_std(self.lease).unwrap_or_default();
        // Never our own running job: its heartbeats may have failed while the database was
        // locked or away, but it is alive and records its own outcome.
        let stale = if self.running.is_some() {
            db::jobs::Stale::HeartbeatOlderThanExcept(lease, &self.owner)
        } else {
            db::jobs::Stale::HeartbeatOlderThan(lease)
        };
        match db::jobs::reap_stale(&self.deps.db, stale).await {
            Ok(reaped) => {
                for job in reaped {
                    self.publish_job(job).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "orchestrator: reaping stale jobs failed"),
        }
        if !self.shutting_down {
            let r = self.schedule().await;
            self.log_err(r);
            let r = self.dispatch().await;
            self.log_err(r);
        }
    }

    /// Main cycle and retry timers.
    async fn schedule(&mut self) -> Result<(), DbErr> {
        let settings = db::settings::get(&self.deps.db).await?;
        let now = Utc::now();
        let jobs = db::jobs::all(&self.deps.db).await?;
        if settings.enabled && settings.next_run_at.is_some_and(|t| t <= now) {
            for row in jobs.iter().filter(|r| r.active) {
                if job::on_main_cycle(row.status) == Some(JobStatus::Pending)
                    && db::jobs::queue(&self.deps.db, row.job_type, &[row.status], false).await?
                {
                    self.triggers.insert(row.job_type, RunTrigger::Schedule);
                    self.publish_job(row.job_type).await;
                }
            }
            self.reschedule().await?;
        }
        if settings.retry_enabled {
            for row in db::jobs::all(&self.deps.db).await? {
                let due = row.next_retry_at.is_some_and(|at| at <= now);
                if due
                    && row.active
                    && row.status == JobStatus::Failed
                    && db::jobs::queue(&self.deps.db, row.job_type, &[JobStatus::Failed], false).await?
                {
                    self.triggers.insert(row.job_type, RunTrigger::Retry);
                    self.publish_job(row.job_type).await;
                }
            }
        }
        Ok(())
    }

    async fn reschedule(&mut self) -> Result<(), DbErr> {
        let s = db::settings::get(&self.deps.db).await?;
        let next = s
            .enabled
            .then(|| Utc::now() + chrono::Duration::minutes(i64::from(s.interval_minutes)));
        db::settings::set_next_run(&self.deps.db, next).await?;
        if self.leadership.is_replicated() {
            db::commands::prune(&self.deps.db).await?;
        }
        Ok(())
    }

    /// Starts the first PENDING job (Jira before GitHub) if nothing runs.
    async fn dispatch(&mut self) -> Result<(), DbErr> {
        if self.running.is_some() || self.unrecorded.is_some() || self.shutting_down || !self.leading {
            return Ok(());
        }
        for row in db::jobs::all(&self.deps.db).await? {
            if row.status == JobStatus::Pending && row.active {
                self.start(row.job_type).await?;
                break;
            }
        }
        Ok(())
    }

    async fn start(&mut self, job: JobType) -> Result<bool, DbErr> {
        let trigger = self.triggers.remove(&job).unwrap_or(RunTrigger::Schedule);
        let run = db::runs::start(&self.deps.db, job, trigger).await?;
        if !db::jobs::claim_running(&self.deps.db, job, &self.owner, run.id).await? {
            db::runs::finish(
                &self.deps.db,
                run.id,
                RunOutcome::Failed,
                &json!({}),
                0,
                0,
                Some("another job was running"),
            )
            .await?;
            return Ok(false);
        }
        db::runs::log(
            &self.deps.db,
            run.id,
            EventLevel::Info,
            &format!("{} started ({trigger})", job.title()),
        )
        .await?;
        let progress = Arc::new(Mutex::new((0, "Starting".to_string())));
        let (p, events) = (progress.clone(), self.events.clone());
        let control = RunControl::new();
        let ctx = RunContext::new(
            control.clone(),
            Arc::new(move |percent, message: String| {
                if let Ok(mut guard) = p.lock() {
                    *guard = (percent, message.clone());
                }
                let _ = events.send(Event::ProgressUpdate {
                    job_type: job,
                    progress: percent,
                    message,
                });
            }),
        )
        .fenced_by(&self.owner);
        runner::launch(self.deps.clone(), job, run.id, ctx.clone(), self.tx.clone());
        self.running = Some(Running {
            job,
            run_id: run.id,
            control,
            ctx,
            stopped_by: None,
            progress,
            logged_message: String::new(),
            lost: false,
            started: std::time::Instant::now(),
        });
        tracing::info!(job = job.as_str(), trigger = trigger.as_str(), "job started");
        self.publish_job(job).await;
        Ok(true)
    }

    async fn finished(&mut self, running: &Running, outcome: Outcome) -> Result<(), DbErr> {
        let (job, run_id) = (running.job, running.run_id);
        // A run that lost its lease fails on fenced writes or a terminated connection: it was
        // interrupted, whatever error it ended with.
        let outcome = match outcome {
            Outcome::Success => Outcome::Success,
            _ if running.lost => Outcome::Interrupted(Interrupted::Stopped),
            other => other,
        };
        // The last progress message the job reported (it may have run between heartbeats).
        let (progress, message) = running.progress.lock().map(|p| p.clone()).unwrap_or_default();
        db::jobs::set_progress(&self.deps.db, job, &self.owner, progress, &message).await?;
        let settings = db::settings::get(&self.deps.db).await?;
        let row = db::jobs::find(&self.deps.db, job).await?;
        let retries = row.as_ref().map(|r| r.retry_count).unwrap_or(0);
        let stats = &running.ctx.stats;
        let counts = serde_json::to_value(stats.counts()).unwrap_or_default();
        let (to, success, error, run_outcome): (JobStatus, bool, Option<String>, RunOutcome) = match &outcome {
            Outcome::Success => (JobStatus::Finished, true, None, RunOutcome::Success),
            Outcome::Interrupted(Interrupted::Paused) => (JobStatus::Paused, false, None, RunOutcome::Paused),
            Outcome::Interrupted(Interrupted::Stopped) => {
                let who = running.stopped_by.clone();
                let message = match &who {
                    Some(user) => format!("force-stopped by {user}"),
                    None if running.lost => "interrupted: this replica lost its lease".into(),
                    None => "interrupted: the service was shutting down".into(),
                };
                (
                    JobStatus::Failed,
                    false,
                    Some(message),
                    if who.is_some() {
                        RunOutcome::Stopped
                    } else {
                        RunOutcome::Interrupted
                    },
                )
            }
            Outcome::Failed(message) => (JobStatus::Failed, false, Some(message.clone()), RunOutcome::Failed),
            Outcome::RateLimited(message, _) => {
                (JobStatus::Failed, false, Some(message.clone()), RunOutcome::RateLimited)
            }
        };
        let (retry_count, next_retry_at) = match (&outcome, to) {
            (_, JobStatus::Finished) => (0, None),
            (Outcome::Interrupted(Interrupted::Stopped), _) if running.stopped_by.is_some() => (retries, None),
            (Outcome::Interrupted(Interrupted::Stopped), _) => (retries, Some(Utc::now())),
            (Outcome::RateLimited(_, at), _) => (retries, Some(*at)),
            (Outcome::Failed(_), _) => {
                let n = retries + 1;
                let retry = settings.retry_enabled
                    && job::retry_allowed(JobStatus::Failed, retries, settings.max_retry_attempts, false);
                (
                    n,
                    retry.then(|| Utc::now() + chrono::Duration::minutes(i64::from(settings.retry_interval_minutes))),
                )
            }
            _ => (retries, None),
        };
        db::jobs::finish(
            &self.deps.db,
            job,
            &self.owner,
            &db::jobs::Finish {
                to,
                success,
                error: error.as_deref(),
                retry_count,
                next_retry_at,
            },
        )
        .await?;
        db::runs::finish(
            &self.deps.db,
            run_id,
            run_outcome,
            &counts,
            stats.requests(),
            stats.waited_ms(),
            error.as_deref(),
        )
        .await?;
        let level = if success || to == JobStatus::Paused {
            EventLevel::Info
        } else {
            EventLevel::Error
        };
        let summary = match &error {
            Some(e) => format!("{} {run_outcome}: {e}", job.title()),
            None => format!("{} {run_outcome} after {} API requests", job.title(), stats.requests()),
        };
        // One line per project and repository: what it cost upstream and what it brought.
        for (scope, figures) in stats.scopes() {
            let line = format!("{scope} — {}", figures.describe());
            db::runs::log(&self.deps.db, run_id, EventLevel::Info, &line).await?;
        }
        db::runs::log(&self.deps.db, run_id, level, &summary).await?;
        tracing::info!(
            job = job.as_str(),
            outcome = run_outcome.as_str(),
            error = error.as_deref(),
            "job finished"
        );
        telemetry::job_finished(
            job.as_str(),
            run_outcome.as_str(),
            running.started.elapsed(),
            stats.counts().into_iter().map(|(item, c)| (item, c.fetched)),
        );
        if success {
            telemetry::job_succeeded_at(job.as_str(), Utc::now());
        }
        let notice = match run_outcome {
            RunOutcome::Failed => Some(NoticeKind::Failed),
            RunOutcome::RateLimited => Some(NoticeKind::RateLimited),
            RunOutcome::Success => db::runs::previous_outcome(&self.deps.db, job, run_id)
                .await?
                .filter(|o| matches!(o, RunOutcome::Failed | RunOutcome::RateLimited))
                .map(|_| NoticeKind::Recovered),
            _ => None,
        };
        if let Some(kind) = notice {
            let detail = match &error {
                Some(e) => e.clone(),
                None => format!("{} API requests", stats.requests()),
            };
            notify::spawn(
                self.deps.db.clone(),
                self.deps.vault.clone(),
                self.deps.outbound,
                Notice {
                    kind,
                    job: Some(job),
                    run_id: Some(run_id),
                    detail,
                },
            );
        }
        self.publish_job(job).await;
        // Jira then GitHub: a finished Jira sync queues GitHub, unless GitHub is PAUSED (or busy).
        if success && job == JobType::JiraSync && !self.shutting_down && self.leading {
            let from = [JobStatus::NotStarted, JobStatus::Finished, JobStatus::Failed];
            if db::jobs::find(&self.deps.db, JobType::GithubSync)
                .await?
                .is_some_and(|g| g.active)
                && db::jobs::queue(&self.deps.db, JobType::GithubSync, &from, false).await?
            {
                self.triggers.entry(JobType::GithubSync).or_insert(RunTrigger::Schedule);
                self.publish_job(JobType::GithubSync).await;
            }
        }
        Ok(())
    }

    async fn act(&mut self, job: JobType, action: Action, user: &str) -> Result<jobs::Model, ControlError> {
        if !self.leading {
            return Err(ControlError::NoLeader);
        }
        let rows = db::jobs::all(&self.deps.db).await?;
        let row = rows
            .iter()
            .find(|r| r.job_type == job)
            .cloned()
            .ok_or(DbErr::RecordNotFound(job.to_string()))?;
        let status = row.status;
        let other_running = self.running.as_ref().is_some_and(|r| r.job != job);
        let stopping = self.running.as_ref().is_some_and(|r| r.stopped_by.is_some());
        job::decide(action, status, other_running, stopping).map_err(ControlError::Refused)?;
        tracing::info!(job = job.as_str(), action = action.as_str(), user, "job control");
        match (action, status) {
            (Action::ForceStop, _) | (Action::Pause, JobStatus::Running) => {
                let Some(r) = self.running.as_mut().filter(|r| r.job == job) else {
                    return Err(ControlError::Refused("the job is not running in this process".into()));
                };
                let stop = action == Action::ForceStop;
                if stop {
                    r.stopped_by = Some(user.to_string());
                    r.control.stop();
                } else {
                    r.control.pause();
                }
                let run_id = r.run_id;
                db::runs::log(
                    &self.deps.db,
                    run_id,
                    EventLevel::Warn,
                    &format!("{} requested by {user}", action.label().to_lowercase()),
                )
                .await?;
                if stop {
                    db::jobs::request_stop(&self.deps.db, job).await?;
                } else {
                    db::jobs::request_pause(&self.deps.db, job).await?;
                }
            }
            (Action::Pause, from) => {
                if !db::jobs::pause(&self.deps.db, job, from).await? {
                    return Err(ControlError::Refused(
                        "the job changed state meanwhile; try again".into(),
                    ));
                }
            }
            (Action::Start | Action::Resume, from) => {
                if !db::jobs::queue(&self.deps.db, job, &[from], true).await? {
                    return Err(ControlError::Refused(
                        "the job changed state meanwhile; try again".into(),
                    ));
                }
                self.triggers.insert(job, RunTrigger::Manual);
                self.dispatch().await?;
            }
        }
        self.publish_job(job).await;
        Ok(db::jobs::find(&self.deps.db, job).await?.unwrap_or(row))
    }

    /// Shutdown: stop the running job at once (its batch rolls back) and mark it for an
    /// immediate retry from its checkpoint when the service is back.
    fn begin_shutdown(&mut self) {
        self.shutting_down = true;
        if let Some(r) = &self.running {
            tracing::info!(job = r.job.as_str(), "shutting down: interrupting the running job");
            r.control.stop();
        }
    }

    /// Tells every listener the job's state and the actions now allowed.
    async fn publish_job(&self, job: JobType) {
        let Ok(rows) = db::jobs::all(&self.deps.db).await else {
            return;
        };
        for row in rows.iter().filter(|r| r.job_type == job) {
            let _ = self.events.send(super::events::job_status(row, &rows));
        }
    }
}
