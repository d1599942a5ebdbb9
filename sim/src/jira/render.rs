//! One renderer for both flavours: Jira Cloud (REST v3, `accountId` users, newest-first
//! truncated changelogs) and Data Center (REST v2, `name`/`key` users, full changelogs).

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::json::Out;
use crate::model::{
    JiraChangeItem, JiraData, JiraHistory, JiraIssue, JiraIssueType, JiraProject, JiraStatus, JiraUser,
    STORY_POINTS_FIELD, cmp_numeric,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Jira Cloud, REST v3.
    Cloud,
    /// Jira Data Center, REST v2.
    Dc,
}

impl Flavor {
    pub fn api_version(self) -> &'static str {
        match self {
            Flavor::Cloud => "3",
            Flavor::Dc => "2",
        }
    }
}

/// A status category as real Jira numbers them.
pub struct Category {
    pub id: i64,
    pub key: &'static str,
    pub color: &'static str,
    pub name: &'static str,
}

pub const STATUS_CATEGORIES: [Category; 4] = [
    Category {
        id: 1,
        key: "undefined",
        color: "medium-gray",
        name: "No Category",
    },
    Category {
        id: 2,
        key: "new",
        color: "blue-gray",
        name: "To Do",
    },
    Category {
        id: 4,
        key: "indeterminate",
        color: "yellow",
        name: "In Progress",
    },
    Category {
        id: 3,
        key: "done",
        color: "green",
        name: "Done",
    },
];

/// The category for a status's `category_key` (unknown keys are "No Category", as in Jira).
pub fn category(key: &str) -> &'static Category {
    STATUS_CATEGORIES
        .iter()
        .find(|c| c.key == key)
        .unwrap_or(&STATUS_CATEGORIES[0])
}

/// The one resolution the simulator sets on resolved issues.
pub const RESOLUTION_ID: &str = "10000";
pub const RESOLUTION_NAME: &str = "Done";
const RESOLUTION_DESCRIPTION: &str = "Work has been completed on this issue.";

/// Jira's default priorities.
pub const PRIORITIES: [(&str, &str); 5] = [
    ("1", "Highest"),
    ("2", "High"),
    ("3", "Medium"),
    ("4", "Low"),
    ("5", "Lowest"),
];

pub fn priority_id(name: &str) -> &'static str {
    PRIORITIES
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(id, _)| *id)
        .unwrap_or("10000")
}

/// The issue fields the simulator knows. `*all` and `*navigable` select all of them.
pub mod field {
    pub const SUMMARY: u32 = 1 << 0;
    pub const STATUS: u32 = 1 << 1;
    pub const ISSUETYPE: u32 = 1 << 2;
    pub const PROJECT: u32 = 1 << 3;
    pub const PRIORITY: u32 = 1 << 4;
    pub const ASSIGNEE: u32 = 1 << 5;
    pub const REPORTER: u32 = 1 << 6;
    pub const CREATOR: u32 = 1 << 7;
    pub const CREATED: u32 = 1 << 8;
    pub const UPDATED: u32 = 1 << 9;
    pub const RESOLUTIONDATE: u32 = 1 << 10;
    pub const RESOLUTION: u32 = 1 << 11;
    pub const PARENT: u32 = 1 << 12;
    pub const STORY_POINTS: u32 = 1 << 13;
    pub const LABELS: u32 = 1 << 14;
    pub const ALL: u32 = (1 << 15) - 1;
}

const FIELD_NAMES: [(&str, u32); 15] = [
    ("summary", field::SUMMARY),
    ("status", field::STATUS),
    ("issuetype", field::ISSUETYPE),
    ("project", field::PROJECT),
    ("priority", field::PRIORITY),
    ("assignee", field::ASSIGNEE),
    ("reporter", field::REPORTER),
    ("creator", field::CREATOR),
    ("created", field::CREATED),
    ("updated", field::UPDATED),
    ("resolutiondate", field::RESOLUTIONDATE),
    ("resolution", field::RESOLUTION),
    ("parent", field::PARENT),
    (STORY_POINTS_FIELD, field::STORY_POINTS),
    ("labels", field::LABELS),
];

/// Which fields an issue carries (the `fields` parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSet {
    pub bits: u32,
    /// Only `id` was asked for (Cloud search's default): the issue is `{"id": …}`.
    pub id_only: bool,
}

impl FieldSet {
    pub const ALL: FieldSet = FieldSet {
        bits: field::ALL,
        id_only: false,
    };
    pub const ID_ONLY: FieldSet = FieldSet { bits: 0, id_only: true };

    /// Reads `fields` entries (each may itself be a comma list): `*all`, `*navigable`, names,
    /// `-name` exclusions. Unknown names are ignored, as Jira does. No entries (or only
    /// exclusions) start from `default`.
    pub fn parse<S: AsRef<str>>(entries: &[S], default: FieldSet) -> FieldSet {
        let tokens: Vec<&str> = entries
            .iter()
            .flat_map(|e| e.as_ref().split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        let includes: Vec<&str> = tokens.iter().copied().filter(|t| !t.starts_with('-')).collect();
        let mut set = if includes.is_empty() {
            default
        } else {
            FieldSet {
                bits: 0,
                id_only: false,
            }
        };
        let mut asked_beyond_id = false;
        for t in &includes {
            let lower = t.to_ascii_lowercase();
            match lower.as_str() {
                "*all" | "*navigable" => {
                    set.bits = field::ALL;
                    asked_beyond_id = true;
                }
                "id" => {}
                _ => {
                    asked_beyond_id = true;
                    if let Some((_, bit)) = FIELD_NAMES.iter().find(|(n, _)| *n == lower) {
                        set.bits |= bit;
                    }
                }
            }
        }
        if !includes.is_empty() {
            set.id_only = !asked_beyond_id;
        }
        for t in tokens.iter().filter(|t| t.starts_with('-')) {
            let lower = t[1..].to_ascii_lowercase();
            if let Some((_, bit)) = FIELD_NAMES.iter().find(|(n, _)| *n == lower) {
                set.bits &= !bit;
            }
        }
        set
    }

    pub fn has(&self, bit: u32) -> bool {
        self.bits & bit != 0
    }
}

/// How much of a project to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectForm {
    /// Inside an issue's `fields.project`.
    Embedded,
    /// `/project/search` values, DC `/project`.
    Listed,
    /// `/project/{key}`.
    Detail,
}

/// How an issue's changelog is embedded (`expand=changelog`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Embed {
    None,
    /// Cloud: the newest `cap` histories, newest first, with `total`.
    NewestFirst {
        cap: usize,
    },
    /// Data Center: the whole history, oldest first (as the recorded DC responses show).
    All,
}

/// Per-request rendering context: URLs, the user's zone and fragment caches.
pub struct Ctx<'a> {
    pub flavor: Flavor,
    pub data: &'a JiraData,
    pub tz: Tz,
    /// `scheme://host{scope}` — the site root (Cloud) or context path (DC).
    pub base: String,
    /// `{base}/rest/api/{3|2}`.
    pub api: String,
    status_idx: HashMap<&'a str, usize>,
    type_idx: HashMap<&'a str, usize>,
    project_idx: HashMap<&'a str, usize>,
    users: Vec<OnceCell<String>>,
    statuses: Vec<OnceCell<String>>,
    types: Vec<OnceCell<String>>,
    projects: Vec<OnceCell<String>>,
    priorities: RefCell<HashMap<String, String>>,
}

/// The API user's time zone (`UTC` when unset or unknown).
pub fn user_tz(data: &JiraData) -> Tz {
    data.user_time_zone.parse().unwrap_or(Tz::UTC)
}

impl<'a> Ctx<'a> {
    pub fn new(flavor: Flavor, data: &'a JiraData, base: String) -> Self {
        let api = format!("{base}/rest/api/{}", flavor.api_version());
        Self {
            flavor,
            data,
            tz: user_tz(data),
            base,
            api,
            status_idx: data
                .statuses
                .iter()
                .enumerate()
                .map(|(i, s)| (s.id.as_str(), i))
                .collect(),
            type_idx: data
                .issue_types
                .iter()
                .enumerate()
                .map(|(i, t)| (t.id.as_str(), i))
                .collect(),
            project_idx: data
                .projects
                .iter()
                .enumerate()
                .map(|(i, p)| (p.id.as_str(), i))
                .collect(),
            users: (0..data.users.len()).map(|_| OnceCell::new()).collect(),
            statuses: (0..data.statuses.len()).map(|_| OnceCell::new()).collect(),
            types: (0..data.issue_types.len()).map(|_| OnceCell::new()).collect(),
            projects: (0..data.projects.len()).map(|_| OnceCell::new()).collect(),
            priorities: RefCell::new(HashMap::new()),
        }
    }

    pub fn cloud(&self) -> bool {
        self.flavor == Flavor::Cloud
    }

    // ------------------------------------------------------------------ users

    /// A user as issues and changelogs embed them (cached per request).
    pub fn user(&self, out: &mut Out, idx: Option<usize>) {
        match idx.and_then(|i| self.users.get(i).map(|c| (i, c))) {
            Some((i, cell)) => out.raw(cell.get_or_init(|| {
                let mut o = Out::with_capacity(512);
                self.write_user(&mut o, &self.data.users[i], false);
                o.buf
            })),
            None => out.null(),
        }
    }

    /// `full` adds what `/myself` and `/user` return beyond the embedded form.
    pub fn write_user(&self, o: &mut Out, u: &JiraUser, full: bool) {
        o.begin_obj();
        if self.cloud() {
            o.kv_url("self", &[&self.api, "/user?accountId=", &u.account_id]);
            o.kv_str("accountId", &u.account_id);
        } else {
            o.kv_url("self", &[&self.api, "/user?username=", &u.name]);
            o.kv_str("name", &u.name);
            o.kv_str("key", &u.name);
        }
        o.kv_str("emailAddress", &u.email);
        o.key("avatarUrls");
        self.avatar_urls(o, "useravatar?ownerId=", user_ref(self.flavor, u));
        o.kv_str("displayName", &u.display_name);
        o.kv_bool("active", true);
        o.kv_str("timeZone", &u.time_zone);
        if self.cloud() {
            o.kv_str("accountType", "atlassian");
        }
        if full {
            o.kv_str("locale", "en_US");
            o.key("groups");
            o.begin_obj();
            o.kv_int("size", 1);
            o.key("items");
            o.begin_arr();
            o.end_arr();
            o.end_obj();
            o.key("applicationRoles");
            o.begin_obj();
            o.kv_int("size", 1);
            o.key("items");
            o.begin_arr();
            o.end_arr();
            o.end_obj();
            o.kv_str("expand", "groups,applicationRoles");
        }
        o.end_obj();
    }

    fn avatar_urls(&self, o: &mut Out, kind: &str, id: &str) {
        o.begin_obj();
        for (size, name) in [
            ("48x48", "large"),
            ("24x24", "small"),
            ("16x16", "xsmall"),
            ("32x32", "medium"),
        ] {
            o.kv_url(size, &[&self.base, "/secure/", kind, id, "&avatarSize=", name]);
        }
        o.end_obj();
    }

    // ------------------------------------------------------------------ reference data

    pub fn status(&self, out: &mut Out, id: &str) {
        match self.status_idx.get(id) {
            Some(&i) => out.raw(self.statuses[i].get_or_init(|| {
                let mut o = Out::with_capacity(512);
                self.write_status(&mut o, &self.data.statuses[i]);
                o.buf
            })),
            None => out.null(),
        }
    }

    pub fn write_status(&self, o: &mut Out, s: &JiraStatus) {
        o.begin_obj();
        o.kv_url("self", &[&self.api, "/status/", &s.id]);
        o.kv_str("description", "");
        o.kv_url("iconUrl", &[&self.base, "/images/icons/statuses/generic.png"]);
        o.kv_str("name", &s.name);
        if self.cloud() {
            o.kv_str("untranslatedName", &s.name);
        }
        o.kv_str("id", &s.id);
        o.key("statusCategory");
        self.write_category(o, category(&s.category_key));
        o.end_obj();
    }

    pub fn write_category(&self, o: &mut Out, c: &Category) {
        o.begin_obj();
        o.kv_url("self", &[&self.api, "/statuscategory/", &c.id.to_string()]);
        o.kv_int("id", c.id);
        o.kv_str("key", c.key);
        o.kv_str("colorName", c.color);
        o.kv_str("name", c.name);
        o.end_obj();
    }

    pub fn issue_type(&self, out: &mut Out, id: &str) {
        match self.type_idx.get(id) {
            Some(&i) => out.raw(self.types[i].get_or_init(|| {
                let mut o = Out::with_capacity(512);
                self.write_issue_type(&mut o, &self.data.issue_types[i]);
                o.buf
            })),
            None => out.null(),
        }
    }

    pub fn write_issue_type(&self, o: &mut Out, t: &JiraIssueType) {
        let avatar = 10300 + t.id.len() as i64 % 10;
        o.begin_obj();
        o.kv_url("self", &[&self.api, "/issuetype/", &t.id]);
        o.kv_str("id", &t.id);
        o.kv_str("description", issue_type_description(&t.name));
        o.kv_url(
            "iconUrl",
            &[
                &self.base,
                "/secure/viewavatar?size=xsmall&avatarId=",
                &avatar.to_string(),
                "&avatarType=issuetype",
            ],
        );
        o.kv_str("name", &t.name);
        if self.cloud() {
            o.kv_str("untranslatedName", &t.name);
        }
        o.kv_bool("subtask", t.subtask);
        o.kv_int("avatarId", avatar);
        if self.cloud() {
            o.kv_int("hierarchyLevel", i64::from(t.hierarchy_level));
        }
        o.end_obj();
    }

    pub fn project(&self, out: &mut Out, id: &str) {
        match self.project_idx.get(id) {
            Some(&i) => out.raw(self.projects[i].get_or_init(|| {
                let mut o = Out::with_capacity(512);
                self.write_project(&mut o, &self.data.projects[i], ProjectForm::Embedded);
                o.buf
            })),
            None => out.null(),
        }
    }

    pub fn write_project(&self, o: &mut Out, p: &JiraProject, form: ProjectForm) {
        let listed = form != ProjectForm::Embedded;
        o.begin_obj();
        if listed {
            o.kv_str(
                "expand",
                "description,lead,issueTypes,url,projectKeys,permissions,insight",
            );
        }
        o.kv_url("self", &[&self.api, "/project/", &p.id]);
        o.kv_str("id", &p.id);
        o.kv_str("key", &p.key);
        o.kv_str("name", &p.name);
        o.key("avatarUrls");
        self.avatar_urls(o, "projectavatar?pid=", &p.id);
        o.kv_str("projectTypeKey", "software");
        if self.cloud() {
            o.kv_bool("simplified", false);
        }
        if listed {
            if self.cloud() {
                o.kv_str("style", "classic");
                o.kv_bool("isPrivate", false);
                o.key("properties");
                o.begin_obj();
                o.end_obj();
            } else {
                o.kv_bool("archived", false);
            }
        }
        if form == ProjectForm::Detail {
            o.kv_str("description", "");
            o.key("lead");
            match self.data.users.first() {
                Some(u) => self.write_user(o, u, false),
                None => o.null(),
            }
            o.key("issueTypes");
            o.begin_arr();
            for t in &self.data.issue_types {
                self.write_issue_type(o, t);
            }
            o.end_arr();
            o.kv_str("assigneeType", "UNASSIGNED");
        }
        o.end_obj();
    }

    pub fn priority(&self, out: &mut Out, name: Option<&str>) {
        let Some(name) = name else {
            out.null();
            return;
        };
        let mut cache = self.priorities.borrow_mut();
        let json = cache.entry(name.to_string()).or_insert_with(|| {
            let mut o = Out::with_capacity(256);
            self.write_priority(&mut o, name);
            o.buf
        });
        out.raw(json);
    }

    pub fn write_priority(&self, o: &mut Out, name: &str) {
        let id = priority_id(name);
        o.begin_obj();
        o.kv_url("self", &[&self.api, "/priority/", id]);
        o.kv_url(
            "iconUrl",
            &[
                &self.base,
                "/images/icons/priorities/",
                &name.to_ascii_lowercase(),
                ".svg",
            ],
        );
        o.kv_str("name", name);
        o.kv_str("id", id);
        o.end_obj();
    }

    fn resolution(&self, o: &mut Out) {
        o.begin_obj();
        o.kv_url("self", &[&self.api, "/resolution/", RESOLUTION_ID]);
        o.kv_str("id", RESOLUTION_ID);
        o.kv_str("description", RESOLUTION_DESCRIPTION);
        o.kv_str("name", RESOLUTION_NAME);
        o.end_obj();
    }

    // ------------------------------------------------------------------ issues

    pub fn time(&self, o: &mut Out, t: &DateTime<Utc>) {
        o.time(t, &self.tz);
    }

    /// An issue (`IssueBean`) with the chosen fields and changelog.
    pub fn issue(&self, o: &mut Out, issue: &JiraIssue, fields: FieldSet, embed: Embed) {
        o.begin_obj();
        if fields.id_only && embed == Embed::None {
            o.kv_str("id", &issue.id);
            o.end_obj();
            return;
        }
        o.kv_str(
            "expand",
            "operations,versionedRepresentations,editmeta,changelog,renderedFields",
        );
        o.kv_str("id", &issue.id);
        o.kv_url("self", &[&self.api, "/issue/", &issue.id]);
        o.kv_str("key", &issue.key);
        if !fields.id_only {
            o.key("fields");
            self.fields(o, issue, fields);
        }
        if embed != Embed::None {
            o.key("changelog");
            self.embedded_changelog(o, issue, embed);
        }
        o.end_obj();
    }

    fn fields(&self, o: &mut Out, issue: &JiraIssue, fields: FieldSet) {
        use field::*;
        o.begin_obj();
        if fields.has(SUMMARY) {
            o.kv_str("summary", &issue.summary);
        }
        if fields.has(STATUS) {
            o.key("status");
            self.status(o, &issue.status_id);
        }
        if fields.has(ISSUETYPE) {
            o.key("issuetype");
            self.issue_type(o, &issue.issue_type_id);
        }
        if fields.has(PROJECT) {
            o.key("project");
            self.project(o, &issue.project_id);
        }
        if fields.has(PRIORITY) {
            o.key("priority");
            self.priority(o, issue.priority.as_deref());
        }
        if fields.has(ASSIGNEE) {
            o.key("assignee");
            self.user(o, issue.assignee);
        }
        if fields.has(REPORTER) {
            o.key("reporter");
            self.user(o, issue.reporter);
        }
        if fields.has(CREATOR) {
            o.key("creator");
            self.user(o, issue.reporter);
        }
        if fields.has(CREATED) {
            o.key("created");
            self.time(o, &issue.created);
        }
        if fields.has(UPDATED) {
            o.key("updated");
            self.time(o, &issue.updated);
        }
        if fields.has(RESOLUTIONDATE) {
            o.key("resolutiondate");
            o.opt_time(issue.resolved.as_ref(), &self.tz);
        }
        if fields.has(RESOLUTION) {
            o.key("resolution");
            if issue.resolved.is_some() {
                self.resolution(o);
            } else {
                o.null();
            }
        }
        if fields.has(PARENT)
            && let Some(parent) = issue.parent_id.as_deref().and_then(|p| issue_by_id(self.data, p))
        {
            o.key("parent");
            o.begin_obj();
            o.kv_str("id", &parent.id);
            o.kv_str("key", &parent.key);
            o.kv_url("self", &[&self.api, "/issue/", &parent.id]);
            o.key("fields");
            o.begin_obj();
            o.kv_str("summary", &parent.summary);
            o.key("status");
            self.status(o, &parent.status_id);
            o.key("priority");
            self.priority(o, parent.priority.as_deref());
            o.key("issuetype");
            self.issue_type(o, &parent.issue_type_id);
            o.end_obj();
            o.end_obj();
        }
        if fields.has(STORY_POINTS) {
            o.key(STORY_POINTS_FIELD);
            match issue.story_points {
                Some(p) => o.float(p),
                None => o.null(),
            }
        }
        if fields.has(LABELS) {
            o.key("labels");
            o.begin_arr();
            o.end_arr();
        }
        o.end_obj();
    }

    fn embedded_changelog(&self, o: &mut Out, issue: &JiraIssue, embed: Embed) {
        let total = issue.changelog.len();
        o.begin_obj();
        o.kv_int("startAt", 0);
        match embed {
            Embed::NewestFirst { cap } => {
                let shown = total.min(cap);
                o.kv_int("maxResults", shown as i64);
                o.kv_int("total", total as i64);
                o.key("histories");
                o.begin_arr();
                for h in issue.changelog.iter().rev().take(shown) {
                    self.history(o, h, None);
                }
                o.end_arr();
            }
            Embed::All | Embed::None => {
                o.kv_int("maxResults", total as i64);
                o.kv_int("total", total as i64);
                o.key("histories");
                o.begin_arr();
                for h in &issue.changelog {
                    self.history(o, h, None);
                }
                o.end_arr();
            }
        }
        o.end_obj();
    }

    /// One changelog history; `only` keeps the items whose field id (or name) is listed.
    pub fn history(&self, o: &mut Out, h: &JiraHistory, only: Option<&[String]>) {
        o.begin_obj();
        o.kv_str("id", &h.id);
        o.key("author");
        self.user(o, Some(h.author));
        o.key("created");
        self.time(o, &h.created);
        o.key("items");
        o.begin_arr();
        for item in &h.items {
            if only.is_none_or(|f| item_matches(item, f)) {
                self.item(o, item);
            }
        }
        o.end_arr();
        o.end_obj();
    }

    fn item(&self, o: &mut Out, item: &JiraChangeItem) {
        o.begin_obj();
        o.kv_str("field", &item.field);
        o.kv_str("fieldtype", &item.field_type);
        if self.cloud()
            && let Some(id) = &item.field_id
        {
            o.kv_str("fieldId", id);
        }
        o.kv_opt_str("from", item.from.as_deref());
        o.kv_opt_str("fromString", item.from_string.as_deref());
        o.kv_opt_str("to", item.to.as_deref());
        o.kv_opt_str("toString", item.to_string.as_deref());
        o.end_obj();
    }
}

/// An issue by id (binary search; `issues` is sorted by id).
pub fn issue_by_id<'d>(data: &'d JiraData, id: &str) -> Option<&'d JiraIssue> {
    data.issues
        .binary_search_by(|i| cmp_numeric(&i.id, id))
        .ok()
        .map(|n| &data.issues[n])
}

/// Whether a change item is about one of `fields` (matched on `fieldId`, else on `field`).
pub fn item_matches(item: &JiraChangeItem, fields: &[String]) -> bool {
    fields
        .iter()
        .any(|f| item.field_id.as_deref() == Some(f.as_str()) || item.field.eq_ignore_ascii_case(f))
}

fn user_ref(flavor: Flavor, u: &JiraUser) -> &str {
    match flavor {
        Flavor::Cloud => &u.account_id,
        Flavor::Dc => &u.name,
    }
}

fn issue_type_description(name: &str) -> &'static str {
    match name.to_ascii_lowercase().as_str() {
        "bug" => "A problem which impairs or prevents the functions of the product.",
        "story" => "Functionality or a feature expressed as a user goal.",
        "task" => "A small, distinct piece of work.",
        "epic" => "A collection of related bugs, stories, and tasks.",
        "sub-task" | "subtask" => "A small piece of work that's part of a larger task.",
        _ => "",
    }
}
