//! The two jobs and their states (DESIGN §7).

pub use entity::enums::{EventLevel, JobStatus, JobType, RunOutcome, RunTrigger};

/// What an admin (or the schedule) asks of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Start,
    Pause,
    Resume,
    ForceStop,
}

impl Action {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "start" => Some(Action::Start),
            "pause" => Some(Action::Pause),
            "resume" => Some(Action::Resume),
            "stop" => Some(Action::ForceStop),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::ForceStop => "stop",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::Start => "Start now",
            Action::Pause => "Pause",
            Action::Resume => "Resume",
            Action::ForceStop => "Force stop",
        }
    }

    pub const ALL: [Action; 4] = [Action::Start, Action::Pause, Action::Resume, Action::ForceStop];
}

/// Where a manual action leads (DESIGN §7), or why it is refused (answered with 409).
/// `other_running`: the other job is RUNNING; `stopping`: a force stop is still in progress.
pub fn decide(action: Action, status: JobStatus, other_running: bool, stopping: bool) -> Result<JobStatus, String> {
    use JobStatus::*;
    if stopping {
        return Err("a force stop is in progress; controls are disabled until it has stopped".into());
    }
    match (action, status) {
        (Action::Start, Running) => Err("the job is already running".into()),
        (Action::Start, Paused) => Err("the job is paused; resume it instead".into()),
        (Action::Start, _) => Ok(Pending),
        (Action::Pause, Running | Pending | Finished | Failed) => Ok(Paused),
        (Action::Pause, Paused) => Err("the job is already paused".into()),
        (Action::Pause, NotStarted) => Err("the job has not run yet; there is nothing to pause".into()),
        (Action::Resume, Paused) => Ok(if other_running { Pending } else { Running }),
        (Action::Resume, _) => Err(format!(
            "only a paused job can be resumed (this one is {})",
            status.label().to_lowercase()
        )),
        (Action::ForceStop, Running) => Ok(Failed),
        (Action::ForceStop, _) => Err("the job is not running".into()),
    }
}

/// The actions to offer for a job in this state (the UI shows only these).
pub fn allowed(status: JobStatus, other_running: bool, stopping: bool) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| decide(*a, status, other_running, stopping).is_ok())
        .collect()
}

/// What the main cycle does with a job: FINISHED, NOT_STARTED and FAILED become PENDING;
/// PAUSED (and anything running or queued) is left alone.
pub fn on_main_cycle(status: JobStatus) -> Option<JobStatus> {
    matches!(status, JobStatus::Finished | JobStatus::NotStarted | JobStatus::Failed).then_some(JobStatus::Pending)
}

/// Whether the retry timer may re-queue a failed job.
pub fn retry_allowed(status: JobStatus, retry_count: i32, max_attempts: i32, force_stopped: bool) -> bool {
    status == JobStatus::Failed && !force_stopped && retry_count < max_attempts
}

#[cfg(test)]
mod state_machine_tests {
    use super::JobStatus::*;
    use super::*;

    #[test]
    fn every_row_of_the_design_table() {
        assert_eq!(decide(Action::Start, Failed, false, false), Ok(Pending));
        assert_eq!(decide(Action::Start, Finished, false, false), Ok(Pending));
        assert_eq!(decide(Action::Start, NotStarted, true, false), Ok(Pending));
        for s in [Running, Pending, Finished, Failed] {
            assert_eq!(decide(Action::Pause, s, false, false), Ok(Paused), "{s:?}");
        }
        assert_eq!(decide(Action::Resume, Paused, false, false), Ok(Running));
        assert_eq!(
            decide(Action::Resume, Paused, true, false),
            Ok(Pending),
            "PENDING when the other job runs"
        );
        assert_eq!(decide(Action::ForceStop, Running, false, false), Ok(Failed));
        assert_eq!(on_main_cycle(Finished), Some(Pending));
        assert_eq!(on_main_cycle(NotStarted), Some(Pending));
        assert_eq!(on_main_cycle(Failed), Some(Pending));
        assert_eq!(on_main_cycle(Paused), None, "never change a PAUSED job automatically");
        assert_eq!(on_main_cycle(Running), None);
        assert!(retry_allowed(Failed, 0, 3, false));
        assert!(!retry_allowed(Failed, 3, 3, false), "max attempts respected");
        assert!(!retry_allowed(Failed, 0, 3, true), "not after a force stop");
        assert!(!retry_allowed(Paused, 0, 3, false));
    }

    #[test]
    fn every_refused_transition_says_why() {
        let refused = [
            (Action::Start, Running),
            (Action::Start, Paused),
            (Action::Pause, Paused),
            (Action::Pause, NotStarted),
            (Action::Resume, Running),
            (Action::Resume, Finished),
            (Action::Resume, Pending),
            (Action::ForceStop, Pending),
            (Action::ForceStop, Paused),
            (Action::ForceStop, Finished),
        ];
        for (a, s) in refused {
            let why = decide(a, s, false, false).expect_err("refused");
            assert!(!why.is_empty(), "{a:?} {s:?}");
        }
        assert!(
            decide(Action::Start, Finished, false, true).is_err(),
            "controls disabled during a force stop"
        );
    }

    #[test]
    fn only_allowed_actions_are_offered() {
        assert_eq!(allowed(Running, false, false), [Action::Pause, Action::ForceStop]);
        assert_eq!(allowed(Paused, false, false), [Action::Resume]);
        assert_eq!(allowed(Finished, false, false), [Action::Start, Action::Pause]);
        assert!(allowed(Finished, false, true).is_empty());
    }
}
