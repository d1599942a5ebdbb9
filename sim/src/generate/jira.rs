//! Jira: users, statuses, issue types, projects and issues with realistic lifecycles.

use std::collections::HashSet;

use rand::Rng;
use rand::rngs::StdRng;

use super::SizeOptions;
use super::text::{self, AUTOMATION, PEOPLE};
use super::util::{DAY, HOUR, IdSeq, MIN, ids_by_time, log_uniform, poisson, rng_for, ts, weighted, work_time};
use crate::model::{
    JiraChangeItem, JiraData, JiraHistory, JiraIssue, JiraIssueType, JiraProject, JiraStatus, JiraUser,
    STORY_POINTS_FIELD,
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    Epic,
    Story,
    Task,
    SubTask,
    Bug,
    Incident,
}

/// (id, name, subtask, hierarchy level, kind)
pub(super) const TYPES: [(&str, &str, bool, i32, Kind); 6] = [
    ("10000", "Epic", false, 1, Kind::Epic),
    ("10001", "Story", false, 0, Kind::Story),
    ("10002", "Task", false, 0, Kind::Task),
    ("10003", "Sub-task", true, -1, Kind::SubTask),
    ("10004", "Bug", false, 0, Kind::Bug),
    ("10005", "Incident", false, 0, Kind::Incident),
];

pub(super) fn type_id(kind: Kind) -> &'static str {
    TYPES.iter().find(|t| t.4 == kind).map_or("10002", |t| t.0)
}

pub(super) fn kind_of_type(type_id: &str) -> Kind {
    TYPES.iter().find(|t| t.0 == type_id).map_or(Kind::Task, |t| t.4)
}

/// Logical workflow states; each project "flavour" names some of them differently.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum St {
    Backlog,
    Todo,
    Selected,
    Open,
    Reopened,
    InProgress,
    Review,
    Blocked,
    Waiting,
    Qa,
    Ready,
    Investigating,
    Done,
    WontDo,
    Resolved,
}

impl St {
    pub(super) fn is_done(self) -> bool {
        matches!(self, St::Done | St::WontDo | St::Resolved)
    }
}

/// (id, name, category key, logical state). Mixed case and a few non-English names, like real
/// tenants (map on the category, never on the name).
pub(super) const STATUSES: [(&str, &str, &str, St); 20] = [
    ("1", "Open", "new", St::Open),
    ("3", "In Progress", "indeterminate", St::InProgress),
    ("4", "Reopened", "new", St::Reopened),
    ("5", "Resolved", "done", St::Resolved),
    ("6", "Closed", "done", St::Done),
    ("10000", "Backlog", "new", St::Backlog),
    ("10001", "To Do", "new", St::Todo),
    ("10002", "Selected for Development", "new", St::Selected),
    ("10003", "IN REVIEW", "indeterminate", St::Review),
    ("10004", "code review", "indeterminate", St::Review),
    ("10005", "Blocked", "indeterminate", St::Blocked),
    ("10006", "Waiting for Customer", "indeterminate", St::Waiting),
    ("10007", "QA", "indeterminate", St::Qa),
    ("10008", "Ready for Release", "indeterminate", St::Ready),
    ("10009", "Done", "done", St::Done),
    ("10010", "Won't Do", "done", St::WontDo),
    ("10011", "En cours", "indeterminate", St::InProgress),
    ("10012", "Erledigt", "done", St::Done),
    ("10013", "待处理", "new", St::Todo),
    ("10014", "Investigating", "indeterminate", St::Investigating),
];

/// Index into `STATUSES` of a logical state in a project's workflow flavour (project index % 3):
/// 0 = English Scrum, 1 = Kanban ("code review", "Closed"), 2 = international team.
pub(super) fn status_index(st: St, flavour: usize) -> usize {
    match (st, flavour % 3) {
        (St::Open, _) => 0,
        (St::InProgress, 2) => 16,
        (St::InProgress, _) => 1,
        (St::Reopened, _) => 2,
        (St::Resolved, _) => 3,
        (St::Done, 0) => 14,
        (St::Done, 1) => 4,
        (St::Done, _) => 17,
        (St::Backlog, _) => 5,
        (St::Todo, 2) => 18,
        (St::Todo, _) => 6,
        (St::Selected, _) => 7,
        (St::Review, 1) => 9,
        (St::Review, _) => 8,
        (St::Blocked, _) => 10,
        (St::Waiting, _) => 11,
        (St::Qa, _) => 12,
        (St::Ready, _) => 13,
        (St::WontDo, _) => 15,
        (St::Investigating, _) => 19,
    }
}

pub(super) const PRIORITIES: [(&str, &str); 5] = [
    ("1", "Highest"),
    ("2", "High"),
    ("3", "Medium"),
    ("4", "Low"),
    ("5", "Lowest"),
];

const POINTS: [(f64, &str); 6] = [(1.0, "1"), (2.0, "2"), (3.0, "3"), (5.0, "5"), (8.0, "8"), (13.0, "13")];

pub(super) fn points_str(p: f64) -> String {
    POINTS
        .iter()
        .find(|(v, _)| *v == p)
        .map_or_else(|| p.to_string(), |(_, s)| (*s).to_string())
}

const LABELS: [&str; 8] = [
    "backend",
    "frontend",
    "tech-debt",
    "customer-request",
    "security",
    "performance",
    "backend frontend",
    "regression",
];

/// First state of a new issue.
pub(super) fn initial(kind: Kind, rng: &mut StdRng) -> St {
    match kind {
        Kind::Incident => St::Open,
        Kind::Story | Kind::Task => {
            if rng.random_bool(0.55) {
                St::Backlog
            } else {
                St::Todo
            }
        }
        Kind::Bug => {
            if rng.random_bool(0.3) {
                St::Backlog
            } else {
                St::Todo
            }
        }
        Kind::Epic | Kind::SubTask => St::Todo,
    }
}

/// The workflow: the state an issue moves to from `st`.
pub(super) fn next(kind: Kind, st: St, rng: &mut StdRng) -> St {
    use St::*;
    let r: u32 = rng.random_range(0..100);
    if st.is_done() {
        return Reopened;
    }
    match kind {
        Kind::Epic => match st {
            Backlog | Todo | Selected | Open | Reopened => {
                if r < 92 {
                    InProgress
                } else {
                    WontDo
                }
            }
            InProgress => {
                if r < 88 {
                    Done
                } else {
                    Blocked
                }
            }
            _ => InProgress,
        },
        Kind::SubTask => match st {
            Backlog | Todo | Selected | Open | Reopened => {
                if r < 95 {
                    InProgress
                } else {
                    WontDo
                }
            }
            InProgress => match r {
                0..50 => Done,
                50..85 => Review,
                _ => Blocked,
            },
            Review => {
                if r < 65 {
                    Done
                } else {
                    InProgress
                }
            }
            _ => InProgress,
        },
        Kind::Incident => match st {
            Open | Reopened | Backlog | Todo | Selected => {
                if r < 95 {
                    Investigating
                } else {
                    Resolved
                }
            }
            Investigating => match r {
                0..75 => Resolved,
                75..87 => Waiting,
                87..95 => Blocked,
                _ => InProgress,
            },
            _ => Investigating,
        },
        Kind::Story | Kind::Task | Kind::Bug => match st {
            Backlog => match r {
                0..60 => Todo,
                60..94 => Selected,
                _ => WontDo,
            },
            // Sprint planning moves work back and forth before anyone starts it.
            Todo => match r {
                0..50 => Selected,
                50..83 => InProgress,
                83..97 => Backlog,
                _ => WontDo,
            },
            Selected => match r {
                0..76 => InProgress,
                76..95 => Todo,
                _ => Backlog,
            },
            Open | Reopened | Investigating => {
                if r < 90 {
                    InProgress
                } else {
                    Todo
                }
            }
            InProgress => {
                let waiting = if kind == Kind::Bug { 8 } else { 3 };
                match r {
                    0..66 => Review,
                    66..78 => Blocked,
                    78..83 => Todo,
                    83..88 => Qa,
                    _ if r < 88 + waiting => Waiting,
                    _ => Done,
                }
            }
            // Rework: reviews and QA send a lot back.
            Review => match r {
                0..40 => Qa,
                40..90 => InProgress,
                90..95 => Ready,
                _ => Done,
            },
            Qa => match r {
                0..46 => Ready,
                46..91 => InProgress,
                _ => Done,
            },
            Ready => {
                if r < 85 {
                    Done
                } else {
                    InProgress
                }
            }
            Blocked => {
                if r < 85 {
                    InProgress
                } else {
                    Backlog
                }
            }
            Waiting => {
                if r < 88 {
                    InProgress
                } else {
                    WontDo
                }
            }
            Done | WontDo | Resolved => Reopened,
        },
    }
}

/// How long an issue stays in `st` before its next status change.
pub(super) fn dwell(kind: Kind, st: St, rng: &mut StdRng) -> i64 {
    use St::*;
    let (lo, hi) = match (kind, st) {
        (Kind::Incident, Open) => (MIN, 40 * MIN),
        (Kind::Incident, Investigating) => (10 * MIN, 3 * DAY),
        (Kind::Incident, Waiting | Blocked) => (30 * MIN, 2 * DAY),
        (Kind::Epic, InProgress) => (5 * DAY, 60 * DAY),
        (Kind::Epic, _) => (DAY, 30 * DAY),
        (_, Backlog) => (DAY, 45 * DAY),
        (_, Todo) => (2 * HOUR, 12 * DAY),
        (_, Selected) => (HOUR, 7 * DAY),
        (_, Open | Reopened) => (10 * MIN, 3 * DAY),
        (_, InProgress) => (HOUR, 6 * DAY),
        (_, Review) => (15 * MIN, 3 * DAY),
        (_, Blocked) => (4 * HOUR, 15 * DAY),
        (_, Waiting) => (2 * HOUR, 10 * DAY),
        (_, Qa) => (30 * MIN, 4 * DAY),
        (_, Ready) => (HOUR, 7 * DAY),
        (_, Investigating) => (10 * MIN, 2 * DAY),
        (_, Done | WontDo | Resolved) => (DAY, 30 * DAY),
    };
    log_uniform(rng, lo, hi)
}

/// A Jira Incident to create because of something that happened in GitHub.
pub(super) struct IncidentSeed {
    pub created: i64,
    pub project: usize,
    pub summary: String,
}

struct Draft {
    created: i64,
    project: usize,
    kind: Kind,
    /// Index into the incident seeds.
    incident: Option<usize>,
    /// Bot-driven ping-pong with more than 100 status changes.
    flip: bool,
    /// An incident nobody has closed yet.
    keep_open: bool,
}

pub(super) fn users(rng: &mut StdRng) -> Vec<JiraUser> {
    let mut seen = HashSet::new();
    PEOPLE
        .iter()
        .map(|p| {
            let mut account_id = super::util::hex(rng, 24);
            while !seen.insert(account_id.clone()) {
                account_id = super::util::hex(rng, 24);
            }
            JiraUser {
                account_id,
                name: p.jira_login.to_string(),
                display_name: format!("{} {}", p.first, p.last),
                email: p.email.to_string(),
                time_zone: p.time_zone.to_string(),
            }
        })
        .collect()
}

pub(super) fn number_of_projects(size: &SizeOptions) -> usize {
    if size.issues > 0 {
        size.projects.max(1)
    } else {
        size.projects
    }
}

/// Generates the Jira side. `incidents` come from production deployments.
pub(super) fn generate(seed: u64, size: &SizeOptions, now: i64, incidents: &[IncidentSeed]) -> JiraData {
    let mut rng = rng_for(seed, 1);
    let users = users(&mut rng);
    let statuses = STATUSES
        .iter()
        .map(|(id, name, cat, _)| JiraStatus {
            id: (*id).to_string(),
            name: (*name).to_string(),
            category_key: (*cat).to_string(),
        })
        .collect();
    let issue_types = TYPES
        .iter()
        .map(|(id, name, subtask, level, _)| JiraIssueType {
            id: (*id).to_string(),
            name: (*name).to_string(),
            subtask: *subtask,
            hierarchy_level: *level,
        })
        .collect();
    let n_projects = number_of_projects(size);
    let projects: Vec<JiraProject> = (0..n_projects)
        .map(|i| {
            let (key, name) = text::project_key(i);
            JiraProject {
                id: (10000 + i).to_string(),
                key,
                name,
            }
        })
        .collect();

    let start = now - i64::from(size.days.max(1)) * DAY;
    let mut drafts = drafts(&mut rng, size, n_projects, start, now, incidents);
    drafts.sort_by_key(|d| d.created);

    let mut issues = Vec::with_capacity(drafts.len());
    let mut ids = IdSeq::new(10000);
    let mut key_numbers = vec![0usize; n_projects];
    // Per project: recent parents for sub-tasks, and epics.
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); n_projects];
    let mut epics: Vec<Vec<usize>> = vec![Vec::new(); n_projects];
    let mut life = Life {
        rng: &mut rng,
        now,
        users: &users,
    };
    for d in &mut drafts {
        let idx = issues.len();
        let mut parent_id = None;
        match d.kind {
            Kind::SubTask => match recent(life.rng, &parents[d.project], 30) {
                Some(p) => parent_id = Some(p),
                None => d.kind = Kind::Task,
            },
            Kind::Story | Kind::Bug => {
                let p = if d.kind == Kind::Story { 0.6 } else { 0.1 };
                if life.rng.random_bool(p) {
                    parent_id = recent(life.rng, &epics[d.project], 5);
                }
            }
            _ => {}
        }
        match d.kind {
            Kind::Story | Kind::Task | Kind::Bug => parents[d.project].push(idx),
            Kind::Epic => epics[d.project].push(idx),
            _ => {}
        }
        key_numbers[d.project] += 1;
        let id = ids.take(life.rng);
        let summary = match d.incident {
            Some(i) => incidents[i].summary.clone(),
            None => summary(life.rng, d.kind),
        };
        let mut issue = life.issue(d, flavour_of(d.project), summary);
        issue.id = id.to_string();
        issue.key = format!("{}-{}", projects[d.project].key, key_numbers[d.project]);
        issue.project_id = projects[d.project].id.clone();
        issue.parent_id = parent_id.map(|p: usize| {
            let parent: &JiraIssue = &issues[p];
            parent.id.clone()
        });
        issues.push(issue);
    }
    assign_history_ids(&mut issues, &mut rng);

    JiraData {
        user_time_zone: "UTC".into(),
        users,
        statuses,
        issue_types,
        projects,
        issues,
    }
}

pub(super) fn flavour_of(project: usize) -> usize {
    project % 3
}

fn recent(rng: &mut StdRng, list: &[usize], window: usize) -> Option<usize> {
    if list.is_empty() {
        return None;
    }
    let lo = list.len().saturating_sub(window);
    Some(list[rng.random_range(lo..list.len())])
}

pub(super) fn summary(rng: &mut StdRng, kind: Kind) -> String {
    match kind {
        Kind::Epic => text::epic_summary(rng),
        Kind::Story => text::story_summary(rng),
        Kind::Task => text::task_summary(rng),
        Kind::SubTask => text::subtask_summary(rng),
        Kind::Bug => text::bug_summary(rng),
        Kind::Incident => "Production incident".to_string(),
    }
}

fn project_weights(n: usize) -> Vec<u32> {
    (0..n).map(|i| 6u32.saturating_sub(i as u32).max(2)).collect()
}

fn drafts(
    rng: &mut StdRng,
    size: &SizeOptions,
    n_projects: usize,
    start: i64,
    now: i64,
    incidents: &[IncidentSeed],
) -> Vec<Draft> {
    // Incidents count towards `size.issues` but never crowd out normal work.
    let max_incidents = if size.issues >= 4 { size.issues / 4 } else { 0 };
    let keep = incidents.len().min(max_incidents);
    let mut out = Vec::with_capacity(size.issues);
    for k in 0..keep {
        let i = k * incidents.len() / keep.max(1);
        let s = &incidents[i];
        out.push(Draft {
            created: s.created,
            project: s.project.min(n_projects.saturating_sub(1)),
            kind: Kind::Incident,
            incident: Some(i),
            flip: false,
            // The latest incident, and a few others, are still open.
            keep_open: k + 1 == keep || rng.random_ratio(1, 10),
        });
    }
    let weights = project_weights(n_projects);
    const KINDS: [(Kind, u32); 5] = [
        (Kind::Story, 40),
        (Kind::Bug, 24),
        (Kind::Task, 23),
        (Kind::SubTask, 10),
        (Kind::Epic, 3),
    ];
    let kind_weights: Vec<u32> = KINDS.iter().map(|k| k.1).collect();
    let regular = size.issues - keep;
    let span = now - start;
    for i in 0..regular {
        let project = weighted(rng, &weights);
        // The first issues of the first projects are epics, so stories have somewhere to live.
        let kind = if i < n_projects.min(regular / 10) {
            Kind::Epic
        } else {
            KINDS[weighted(rng, &kind_weights)].0
        };
        let created = if i < n_projects.min(regular / 10) {
            work_time(rng, start, start + span / 10)
        } else {
            work_time(rng, start, now - MIN)
        };
        out.push(Draft {
            created,
            project: if i < n_projects { i } else { project },
            kind,
            incident: None,
            flip: false,
            keep_open: false,
        });
    }
    // Ping-pong issues: at least two, more in larger datasets, created early enough to fit.
    let want = if regular >= 20 {
        (regular / 800).max(2)
    } else {
        regular.min(2)
    };
    let early = start + span / 2;
    let mut candidates: Vec<usize> = (keep..out.len())
        .filter(|&i| matches!(out[i].kind, Kind::Story | Kind::Task | Kind::Bug) && out[i].created < early)
        .collect();
    if candidates.len() < want {
        candidates = (keep..out.len()).collect();
    }
    for k in 0..want.min(candidates.len()) {
        let d = &mut out[candidates[k * candidates.len() / want]];
        d.flip = true;
        if d.kind == Kind::Epic || d.kind == Kind::SubTask {
            d.kind = Kind::Task;
        }
        if d.created >= early {
            d.created = work_time(rng, start, early);
        }
    }
    out
}

/// What happens to an issue, before it becomes changelog items.
enum What {
    Status { to: St, assign: Option<usize> },
    Assignee(Option<usize>),
    Priority(usize),
    Points(f64),
    Labels(&'static str),
}

struct Ev {
    t: i64,
    author: Option<usize>,
    what: What,
}

/// Issue lifecycles.
pub(super) struct Life<'a> {
    pub rng: &'a mut StdRng,
    pub now: i64,
    pub users: &'a [JiraUser],
}

/// Mutable state of an issue while its changelog is written.
pub(super) struct IssueState {
    pub kind: Kind,
    pub flavour: usize,
    pub status: usize,
    pub assignee: Option<usize>,
    pub priority: Option<usize>,
    pub points: Option<f64>,
    pub labels: &'static str,
    pub resolved: Option<i64>,
}

impl Life<'_> {
    /// A random human (never the automation user).
    pub(super) fn human(&mut self) -> usize {
        let n = self.users.len().clamp(1, AUTOMATION);
        // Developers (the first twelve) do most of the work.
        if n > 12 && self.rng.random_bool(0.85) {
            self.rng.random_range(0..12)
        } else {
            self.rng.random_range(0..n)
        }
    }

    fn initial_priority(&mut self, kind: Kind) -> Option<usize> {
        if kind == Kind::Incident {
            return Some(usize::from(self.rng.random_bool(0.6)));
        }
        if self.rng.random_ratio(1, 100) {
            return None;
        }
        Some(weighted(self.rng, &[5, 20, 55, 15, 5]))
    }

    fn points(&mut self) -> f64 {
        POINTS[weighted(self.rng, &[10, 20, 25, 25, 15, 5])].0
    }

    fn issue(&mut self, d: &Draft, flavour: usize, summary: String) -> JiraIssue {
        let kind = d.kind;
        let created = d.created;
        let reporter = if kind == Kind::Incident && self.rng.random_bool(0.4) {
            AUTOMATION.min(self.users.len().saturating_sub(1))
        } else {
            self.human()
        };
        let st0 = initial(kind, self.rng);
        let mut state = IssueState {
            kind,
            flavour,
            status: status_index(st0, flavour),
            assignee: if self.rng.random_bool(if kind == Kind::Epic { 0.7 } else { 0.5 }) {
                Some(self.human())
            } else {
                None
            },
            priority: self.initial_priority(kind),
            points: None,
            labels: "",
            resolved: None,
        };
        let wants_points = match kind {
            Kind::Story => self.rng.random_bool(0.85),
            Kind::Task | Kind::Bug => self.rng.random_bool(0.15),
            _ => false,
        };
        let points_later = wants_points && self.rng.random_bool(0.3);
        if wants_points && !points_later {
            state.points = Some(self.points());
        }

        let mut evs = if d.flip {
            self.flip_flop(created, st0)
        } else {
            self.lifecycle(kind, created, st0, d.keep_open)
        };
        let last_status = evs.last().map_or(created, |e| e.t);
        // Edits of other fields, spread over the issue's active life.
        let end = (last_status.max(created + 2 * DAY)).min(self.now);
        let mut extra = poisson(self.rng, 0.9);
        if points_later {
            extra += 1;
        }
        if end > created + MIN {
            for k in 0..extra {
                let t = self.rng.random_range(created + MIN..=end);
                let what = if k == 0 && points_later {
                    What::Points(self.points())
                } else {
                    match self.rng.random_range(0..100) {
                        0..35 => What::Assignee(Some(self.human())),
                        35..60 => What::Priority(weighted(self.rng, &[5, 20, 50, 20, 5])),
                        60..85 => What::Labels(LABELS[self.rng.random_range(0..LABELS.len())]),
                        _ if wants_points => What::Points(self.points()),
                        _ => What::Assignee(None),
                    }
                };
                evs.push(Ev { t, author: None, what });
            }
            // Stable: status changes stay first on equal times.
            evs.sort_by_key(|e| e.t);
        }

        let mut changelog = Vec::with_capacity(evs.len());
        let mut last = created;
        for e in evs {
            let t = e.t.max(last + 1);
            if t > self.now {
                continue;
            }
            last = t;
            if let Some(h) = self.apply(&mut state, t, e.author, e.what) {
                changelog.push(h);
            }
        }
        let mut updated = changelog.last().map_or(created, |h| h.1);
        if self.rng.random_ratio(1, 4) && updated < self.now {
            // A comment or a description edit: no changelog entry, but `updated` moves.
            updated = (updated + log_uniform(self.rng, MIN, 3 * DAY)).min(self.now);
        }
        JiraIssue {
            id: String::new(),
            key: String::new(),
            project_id: String::new(),
            issue_type_id: type_id(kind).to_string(),
            status_id: STATUSES[state.status].0.to_string(),
            summary,
            priority: state.priority.map(|p| PRIORITIES[p].1.to_string()),
            assignee: state.assignee,
            reporter: Some(reporter),
            created: ts(created),
            updated: ts(updated),
            resolved: state.resolved.map(ts),
            story_points: state.points,
            parent_id: None,
            changelog: changelog.into_iter().map(|(h, _)| h).collect(),
        }
    }

    /// Status changes of an ordinary issue, from creation until done or `now`.
    fn lifecycle(&mut self, kind: Kind, created: i64, st0: St, keep_open: bool) -> Vec<Ev> {
        let mut evs = Vec::with_capacity(12);
        // Part of every backlog is never started.
        if st0 == St::Backlog && self.rng.random_ratio(1, 6) {
            return evs;
        }
        let slow = if self.rng.random_ratio(1, 25) { 6 } else { 1 };
        let mut st = st0;
        let mut t = created;
        let mut assigned = false;
        while evs.len() < 80 {
            if keep_open && !evs.is_empty() && st != St::Open {
                break;
            }
            if st.is_done() {
                // Most finished work stays finished; some gets reopened.
                let reopen = matches!(kind, Kind::Bug | Kind::Story | Kind::Task)
                    && st == St::Done
                    && self.rng.random_ratio(1, 16);
                if !reopen {
                    break;
                }
            }
            t += dwell(kind, st, self.rng) * slow;
            if t > self.now {
                break;
            }
            let mut to = next(kind, st, self.rng);
            if keep_open && to.is_done() {
                to = if kind == Kind::Incident {
                    St::Investigating
                } else {
                    St::InProgress
                };
            }
            // Starting work assigns the issue (status + assignee in one history).
            let assign = if to == St::InProgress && (!assigned || self.rng.random_ratio(1, 12)) {
                assigned = true;
                Some(self.human())
            } else {
                None
            };
            evs.push(Ev {
                t,
                author: None,
                what: What::Status { to, assign },
            });
            st = to;
        }
        evs
    }

    /// An issue bounced back and forth by automation: more than 100 status changes.
    fn flip_flop(&mut self, created: i64, st0: St) -> Vec<Ev> {
        let target = self.rng.random_range(101..=160usize);
        let avail = (self.now - created - HOUR).max(MIN * (target as i64 + 2));
        let step = (avail / (target as i64 + 2)).clamp(MIN, 6 * HOUR);
        let mut evs = Vec::with_capacity(target + 2);
        let mut t = created;
        let mut st = st0;
        let other = if self.rng.random_bool(0.5) {
            St::Review
        } else {
            St::Blocked
        };
        while evs.len() < target {
            t += log_uniform(self.rng, MIN / 2, step);
            if t > self.now {
                break;
            }
            let to = if st == St::InProgress { other } else { St::InProgress };
            evs.push(Ev {
                t,
                author: Some(AUTOMATION.min(self.users.len().saturating_sub(1))),
                what: What::Status { to, assign: None },
            });
            st = to;
        }
        t += log_uniform(self.rng, MIN, step);
        if self.rng.random_bool(0.5) && t <= self.now {
            evs.push(Ev {
                t,
                author: None,
                what: What::Status {
                    to: St::Done,
                    assign: None,
                },
            });
        }
        evs
    }

    /// Applies one event: updates `state` and returns the history (with an empty id) and its time.
    fn apply(
        &mut self,
        state: &mut IssueState,
        t: i64,
        author: Option<usize>,
        what: What,
    ) -> Option<(JiraHistory, i64)> {
        let mut items = Vec::with_capacity(2);
        match what {
            What::Status { to, assign } => {
                let from = state.status;
                let to_idx = status_index(to, state.flavour);
                if to_idx == from {
                    return None;
                }
                items.push(status_item(from, to_idx));
                let (was_done, is_done) = (STATUSES[from].3.is_done(), to.is_done());
                if !was_done && is_done {
                    state.resolved = Some(t);
                    items.push(resolution_item(None, Some(to)));
                } else if was_done && !is_done {
                    state.resolved = None;
                    items.push(resolution_item(Some(STATUSES[from].3), None));
                }
                state.status = to_idx;
                if let Some(a) = assign
                    && state.assignee != Some(a)
                {
                    items.push(self.assignee_item(state.assignee, Some(a)));
                    state.assignee = Some(a);
                }
            }
            What::Assignee(a) => {
                if state.assignee == a {
                    return None;
                }
                items.push(self.assignee_item(state.assignee, a));
                state.assignee = a;
            }
            What::Priority(p) => {
                if state.priority == Some(p) {
                    return None;
                }
                items.push(JiraChangeItem {
                    field: "priority".into(),
                    field_type: "jira".into(),
                    field_id: Some("priority".into()),
                    from: state.priority.map(|q| PRIORITIES[q].0.to_string()),
                    from_string: state.priority.map(|q| PRIORITIES[q].1.to_string()),
                    to: Some(PRIORITIES[p].0.to_string()),
                    to_string: Some(PRIORITIES[p].1.to_string()),
                });
                state.priority = Some(p);
            }
            What::Points(p) => {
                if state.points == Some(p) {
                    return None;
                }
                let from = state.points.map(points_str);
                let to = points_str(p);
                items.push(JiraChangeItem {
                    field: "Story Points".into(),
                    field_type: "custom".into(),
                    field_id: Some(STORY_POINTS_FIELD.into()),
                    from: from.clone(),
                    from_string: from,
                    to: Some(to.clone()),
                    to_string: Some(to),
                });
                state.points = Some(p);
            }
            What::Labels(l) => {
                if state.labels == l {
                    return None;
                }
                items.push(JiraChangeItem {
                    field: "labels".into(),
                    field_type: "jira".into(),
                    field_id: Some("labels".into()),
                    from: None,
                    from_string: Some(state.labels.to_string()),
                    to: None,
                    to_string: Some(l.to_string()),
                });
                state.labels = l;
            }
        }
        let author = match author {
            Some(a) => a,
            None if self.rng.random_ratio(1, 20) => self.human(),
            None => match state.assignee {
                Some(a) => a,
                None => self.human(),
            },
        };
        Some((
            JiraHistory {
                id: String::new(),
                author,
                created: ts(t),
                items,
            },
            t,
        ))
    }

    fn assignee_item(&self, from: Option<usize>, to: Option<usize>) -> JiraChangeItem {
        let user = |u: Option<usize>| u.and_then(|u| self.users.get(u));
        let (from, to) = (user(from), user(to));
        JiraChangeItem {
            field: "assignee".into(),
            field_type: "jira".into(),
            field_id: Some("assignee".into()),
            from: from.map(|u| u.account_id.clone()),
            from_string: from.map(|u| u.display_name.clone()),
            to: to.map(|u| u.account_id.clone()),
            to_string: to.map(|u| u.display_name.clone()),
        }
    }

    /// Next status change of an existing issue (used by `advance`).
    pub(super) fn step(&mut self, state: &mut IssueState, t: i64) -> Option<JiraHistory> {
        let st = STATUSES[state.status].3;
        let to = next(state.kind, st, self.rng);
        let assign = if to == St::InProgress && (state.assignee.is_none() || self.rng.random_ratio(1, 10)) {
            Some(self.human())
        } else {
            None
        };
        self.apply(state, t, None, What::Status { to, assign }).map(|(h, _)| h)
    }

    /// A non-status edit of an existing issue (used by `advance`).
    pub(super) fn edit(&mut self, state: &mut IssueState, t: i64) -> Option<JiraHistory> {
        let what = match self.rng.random_range(0..100) {
            0..60 => What::Assignee(Some(self.human())),
            60..80 => What::Priority(weighted(self.rng, &[5, 20, 50, 20, 5])),
            80..90 if state.kind == Kind::Story => What::Points(self.points()),
            _ => What::Labels(LABELS[self.rng.random_range(0..LABELS.len())]),
        };
        self.apply(state, t, None, what).map(|(h, _)| h)
    }

    /// A new issue created at `created`, with whatever happens to it until `self.now` (used by
    /// `advance`; ids, key and project are left for the caller).
    pub(super) fn new_issue(&mut self, kind: Kind, flavour: usize, created: i64, summary: String) -> JiraIssue {
        let d = Draft {
            created,
            project: 0,
            kind,
            incident: None,
            flip: false,
            keep_open: false,
        };
        self.issue(&d, flavour, summary)
    }
}

/// The workflow state of an existing issue, or `None` when its status or type is not one the
/// generator knows (then `advance` leaves it alone).
pub(super) fn state_of(issue: &JiraIssue, flavour: usize, users: &[JiraUser]) -> Option<IssueState> {
    let status = STATUSES.iter().position(|s| s.0 == issue.status_id)?;
    let labels = issue
        .changelog
        .iter()
        .rev()
        .flat_map(|h| h.items.iter())
        .find(|it| it.field == "labels")
        .and_then(|it| it.to_string.as_deref())
        .and_then(|l| LABELS.iter().find(|x| **x == l).copied())
        .unwrap_or("");
    Some(IssueState {
        kind: kind_of_type(&issue.issue_type_id),
        flavour,
        status,
        assignee: issue.assignee.filter(|a| *a < users.len()),
        priority: issue
            .priority
            .as_deref()
            .and_then(|p| PRIORITIES.iter().position(|x| x.1 == p)),
        points: issue.story_points,
        labels,
        resolved: issue.resolved.map(|r| r.timestamp_millis()),
    })
}

/// Writes a state back to the issue (after `advance` applied changes at `t`).
pub(super) fn store_state(issue: &mut JiraIssue, state: &IssueState, t: i64) {
    issue.status_id = STATUSES[state.status].0.to_string();
    issue.assignee = state.assignee;
    issue.priority = state.priority.map(|p| PRIORITIES[p].1.to_string());
    issue.story_points = state.points;
    issue.resolved = state.resolved.map(ts);
    issue.updated = ts(t);
}

pub(super) fn project_weights_for(n: usize) -> Vec<u32> {
    project_weights(n)
}

fn status_item(from: usize, to: usize) -> JiraChangeItem {
    JiraChangeItem {
        field: "status".into(),
        field_type: "jira".into(),
        field_id: Some("status".into()),
        from: Some(STATUSES[from].0.to_string()),
        from_string: Some(STATUSES[from].1.to_string()),
        to: Some(STATUSES[to].0.to_string()),
        to_string: Some(STATUSES[to].1.to_string()),
    }
}

fn resolution(st: St) -> (&'static str, &'static str) {
    if st == St::WontDo {
        ("10001", "Won't Do")
    } else {
        ("10000", "Done")
    }
}

fn resolution_item(from: Option<St>, to: Option<St>) -> JiraChangeItem {
    let from = from.map(resolution);
    let to = to.map(resolution);
    JiraChangeItem {
        field: "resolution".into(),
        field_type: "jira".into(),
        field_id: Some("resolution".into()),
        from: from.map(|r| r.0.to_string()),
        from_string: from.map(|r| r.1.to_string()),
        to: to.map(|r| r.0.to_string()),
        to_string: to.map(|r| r.1.to_string()),
    }
}

/// Changelog ids are one sequence for the whole site and grow with time.
fn assign_history_ids(issues: &mut [JiraIssue], rng: &mut StdRng) {
    let total: usize = issues.iter().map(|i| i.changelog.len()).sum();
    let mut keys = Vec::with_capacity(total);
    for (i, issue) in issues.iter().enumerate() {
        for (j, h) in issue.changelog.iter().enumerate() {
            keys.push((h.created.timestamp_millis(), (i as u32, j as u32)));
        }
    }
    let mut seq = IdSeq::new(100_000);
    ids_by_time(keys, &mut seq, rng, |(i, j), id| {
        issues[i as usize].changelog[j as usize].id = id.to_string();
    });
}
