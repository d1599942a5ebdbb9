//! Runs a plan over the dataset. Objects are built from the REST answers' JSON (the same
//! functions render both), so GraphQL and REST agree on every value; only the selected fields
//! are answered.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::rc::Rc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::super::{
    Note, Web, commit_json, find_project, mr_json, mr_state, note_list, path_with_namespace, project_json, time,
    user_json, username,
};
use super::plan::{Sel, page_size};
use crate::model::{GhCommit, GhPull, GithubData};

/// Something a field can be selected on.
enum Obj<'a> {
    Query,
    Project(usize),
    Mr(usize, &'a GhPull),
    /// A user by index (`None`: no such user, every field null), its fields as REST renders them.
    User(Option<usize>),
    /// A note of the merge request (project index, merge request), fields read as asked.
    Note(usize, &'a GhPull, Rc<Note>),
    /// A commit of a project's merge request.
    Commit(usize, &'a GhCommit),
    Stats(&'a GhPull),
    Position(Value),
    Complexity,
    PageInfo(Value),
    Conn(Conn<'a>),
    Edge(String, Box<Obj<'a>>),
}

/// One page of a connection, and what `count` and `pageInfo` say about it.
struct Conn<'a> {
    page: Vec<(String, Obj<'a>)>,
    count: usize,
    has_next: bool,
    has_previous: bool,
}

pub struct Exec<'a> {
    pub gh: &'a GithubData,
    pub w: &'a Web,
    pub complexity: u32,
    pub limit: u32,
    pub errors: Vec<Value>,
    /// Nodes answered (for the per-item latency).
    pub items: u64,
}

/// A cursor: base64 of a small JSON object, opaque to clients as GitLab's are.
fn cursor(key: i64, id: u64) -> String {
    BASE64.encode(format!("{{\"key\":\"{key}\",\"id\":\"{id}\"}}"))
}

fn decode_cursor(s: &str) -> Option<(i64, u64)> {
    let raw = BASE64.decode(s.trim()).ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    Some((v["key"].as_str()?.parse().ok()?, v["id"].as_str()?.parse().ok()?))
}

fn gid(class: &str, id: impl std::fmt::Display) -> Value {
    Value::String(format!("gid://gitlab/{class}/{id}"))
}

/// `createdAt` → `created_at`.
fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn time_arg(args: &Map<String, Value>, name: &str) -> Result<Option<DateTime<Utc>>, String> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| Some(t.with_timezone(&Utc)))
            .ok_or_else(|| {
                format!("Argument '{name}' on Field 'mergeRequests' has an invalid value ({v}). Expected type 'Time'.")
            }),
    }
}

fn strings(args: &Map<String, Value>, name: &str) -> Option<Vec<String>> {
    match args.get(name)? {
        Value::Array(a) => Some(a.iter().filter_map(|v| v.as_str().map(String::from)).collect()),
        Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

impl<'a> Exec<'a> {
    /// The `data` of a response.
    pub fn run(&mut self, sels: &[Sel<'_>]) -> Value {
        self.object(&Obj::Query, sels, &mut Vec::new())
    }

    fn object(&mut self, obj: &Obj<'a>, sels: &[Sel<'_>], path: &mut Vec<Value>) -> Value {
        let mut out = Map::new();
        for s in sels {
            path.push(json!(s.key));
            let v = self.field(obj, s, path);
            path.pop();
            out.insert(s.key.to_string(), v);
        }
        Value::Object(out)
    }

    fn field(&mut self, obj: &Obj<'a>, s: &Sel<'_>, path: &mut Vec<Value>) -> Value {
        if s.name == "__typename" {
            return json!(type_name(obj));
        }
        let resolved = match self.resolve(obj, s) {
            Ok(r) => r,
            Err(message) => {
                self.errors.push(json!({ "message": message, "path": path.clone() }));
                return Value::Null;
            }
        };
        match resolved {
            Resolved::Value(v) => v,
            Resolved::Obj(None) => Value::Null,
            Resolved::Obj(Some(o)) => self.object(&o, &s.sub, path),
            Resolved::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (k, o) in items.into_iter().enumerate() {
                    path.push(json!(k));
                    out.push(self.object(&o, &s.sub, path));
                    path.pop();
                }
                Value::Array(out)
            }
        }
    }

    fn resolve(&mut self, obj: &Obj<'a>, s: &Sel<'_>) -> Result<Resolved<'a>, String> {
        let gh = self.gh;
        let w = self.w;
        let args = &s.args;
        Ok(match (obj, s.name) {
            (Obj::Query, "project") => {
                let path = args.get("fullPath").and_then(Value::as_str).unwrap_or_default();
                // A numeric id is not a full path: GitLab answers null for it too.
                let found = (!path.chars().all(|c| c.is_ascii_digit()))
                    .then(|| find_project(gh, path))
                    .flatten();
                Resolved::Obj(found.map(Obj::Project))
            }
            (Obj::Query, "currentUser") => {
                let u = crate::github::rest::token_user(gh);
                let index = gh.users.iter().position(|x| x.id == u.id);
                Resolved::Obj(index.map(|i| Obj::User(Some(i))))
            }
            (Obj::Query, "queryComplexity") => Resolved::Obj(Some(Obj::Complexity)),
            (Obj::Complexity, "score") => Resolved::Value(json!(self.complexity)),
            (Obj::Complexity, "limit") => Resolved::Value(json!(self.limit)),
            (Obj::Project(i), "mergeRequests") => Resolved::Obj(Some(Obj::Conn(self.merge_requests(*i, args)?))),
            (Obj::Project(i), "mergeRequest") => {
                let iid = args.get("iid").and_then(Value::as_str).and_then(|s| s.parse().ok());
                Resolved::Obj(iid.and_then(|n| gh.repos[*i].pull(n)).map(|p| Obj::Mr(*i, p)))
            }
            (Obj::Project(i), "id") => Resolved::Value(gid("Project", gh.repos[*i].id)),
            (Obj::Project(i), "fullPath") => Resolved::Value(json!(path_with_namespace(gh, *i))),
            (Obj::Project(i), f) => Resolved::Value(project_json(w, gh, *i)[snake(f)].clone()),
            (Obj::Mr(i, p), f) => self.mr_field(*i, p, f, args)?,
            (Obj::User(u), f) => {
                let user = u.and_then(|i| gh.users.get(i));
                Resolved::Value(match (user, f) {
                    (None, "id") => gid("User", Value::Null),
                    (_, "bot") => json!(false),
                    (None, _) => Value::Null,
                    (Some(u), "id") => gid("User", u.id),
                    (Some(u), "username") => json!(username(u)),
                    (Some(u), "name") => json!(u.name),
                    (Some(u), f) => user_json(w, u)[snake(f)].take(),
                })
            }
            (Obj::Note(i, p, n), f) => match f {
                "id" => Resolved::Value(gid(if n.diff.is_some() { "DiffNote" } else { "Note" }, n.id)),
                "author" => Resolved::Obj(Some(Obj::User(gh.users.get(n.author).map(|_| n.author)))),
                "position" => Resolved::Obj(n.diff.is_some().then(|| Obj::Position(n.position()))),
                "url" => Resolved::Value(json!(format!("#note_{}", n.id))),
                "body" => Resolved::Value(json!(n.body)),
                "system" => Resolved::Value(json!(n.system)),
                "createdAt" => Resolved::Value(json!(time(n.at))),
                "updatedAt" => Resolved::Value(json!(time(n.updated))),
                f => Resolved::Value(n.json(w, gh, *i, p)[snake(f)].take()),
            },
            (Obj::Position(p), "filePath") => Resolved::Value(p["new_path"].clone()),
            (Obj::Position(p), f) => Resolved::Value(p[snake(f)].clone()),
            (Obj::Commit(i, c), f) => match f {
                "id" => Resolved::Value(gid("CommitPresenter", &c.sha)),
                "sha" => Resolved::Value(json!(c.sha)),
                "author" => Resolved::Obj(c.author.map(|a| Obj::User(gh.users.get(a).map(|_| a)))),
                "title" => Resolved::Value(json!(c.message.lines().next().unwrap_or(""))),
                "message" => Resolved::Value(json!(c.message)),
                "authorName" => Resolved::Value(json!(c.author_name)),
                "authorEmail" => Resolved::Value(json!(c.author_email)),
                "authoredDate" => Resolved::Value(json!(time(c.authored_at))),
                "committedDate" => Resolved::Value(json!(time(c.committed_at))),
                f => Resolved::Value(commit_json(w, &path_with_namespace(gh, *i), c)[snake(f)].take()),
            },
            (Obj::Stats(p), f) => Resolved::Value(match f {
                "additions" => json!(p.additions),
                "deletions" => json!(p.deletions),
                "changes" => json!(p.additions + p.deletions),
                _ => json!(p.changed_files),
            }),
            (Obj::PageInfo(v), f) => Resolved::Value(v[f].clone()),
            (Obj::Conn(c), "count") => Resolved::Value(json!(c.count)),
            (Obj::Conn(c), "pageInfo") => Resolved::Obj(Some(Obj::PageInfo(json!({
                "hasNextPage": c.has_next,
                "hasPreviousPage": c.has_previous,
                "startCursor": c.page.first().map(|(k, _)| k.clone()),
                "endCursor": c.page.last().map(|(k, _)| k.clone()),
            })))),
            (Obj::Conn(c), "nodes") => {
                self.items += c.page.len() as u64;
                Resolved::List(c.page.iter().map(|(_, o)| o.shallow()).collect())
            }
            (Obj::Conn(c), "edges") => {
                self.items += c.page.len() as u64;
                Resolved::List(
                    c.page
                        .iter()
                        .map(|(k, o)| Obj::Edge(k.clone(), Box::new(o.shallow())))
                        .collect(),
                )
            }
            (Obj::Edge(k, _), "cursor") => Resolved::Value(json!(k)),
            (Obj::Edge(_, o), "node") => Resolved::Obj(Some(o.shallow())),
            _ => Resolved::Value(Value::Null),
        })
    }

    fn mr_field(
        &mut self,
        i: usize,
        p: &'a GhPull,
        f: &str,
        args: &Map<String, Value>,
    ) -> Result<Resolved<'a>, String> {
        let gh = self.gh;
        let w = self.w;
        let rest = || mr_json(w, gh, i, p);
        Ok(match f {
            "id" => Resolved::Value(gid("MergeRequest", p.id)),
            "iid" => Resolved::Value(json!(p.number.to_string())),
            "state" => Resolved::Value(json!(mr_state(p))),
            "draft" => Resolved::Value(json!(p.draft)),
            "createdAt" => Resolved::Value(json!(time(p.created_at))),
            "updatedAt" => Resolved::Value(json!(time(p.updated_at))),
            "mergedAt" => Resolved::Value(json!(p.merged_at.map(time))),
            "closedAt" => Resolved::Value(json!(
                (mr_state(p) == "closed").then_some(p.closed_at).flatten().map(time)
            )),
            "webUrl" => Resolved::Value(json!(format!(
                "{}/{}/-/merge_requests/{}",
                w.root,
                path_with_namespace(gh, i),
                p.number
            ))),
            "mergeCommitSha" => Resolved::Value(json!(p.merge_commit_sha)),
            "squashCommitSha" => Resolved::Value(Value::Null),
            "sourceBranch" => Resolved::Value(json!(p.head_ref)),
            "targetBranch" => Resolved::Value(json!(p.base_ref)),
            "title" => Resolved::Value(json!(p.title)),
            "diffHeadSha" => Resolved::Value(json!(p.head_sha)),
            "commitCount" => Resolved::Value(json!(p.commits.len())),
            "approved" => Resolved::Value(json!(p.reviews.iter().any(|v| v.state == "APPROVED"))),
            "author" => Resolved::Obj(Some(Obj::User(gh.users.get(p.author).map(|_| p.author)))),
            "mergeUser" => Resolved::Obj(p.merged_at.map(|_| Obj::User(gh.users.get(p.author).map(|_| p.author)))),
            "diffStatsSummary" => Resolved::Obj(Some(Obj::Stats(p))),
            "approvedBy" => {
                let mut approvers: Vec<usize> = p
                    .reviews
                    .iter()
                    .filter(|v| v.state == "APPROVED")
                    .map(|v| v.author)
                    .collect();
                approvers.sort_unstable();
                approvers.dedup();
                let items = approvers
                    .into_iter()
                    .enumerate()
                    .map(|(k, a)| ((k as i64, 0), Obj::User(gh.users.get(a).map(|_| a))))
                    .collect();
                Resolved::Obj(Some(Obj::Conn(page(items, args, false)?)))
            }
            "notes" => {
                let items = note_list(p)
                    .into_iter()
                    .map(|(at, id, n)| ((at.timestamp_millis(), id), Obj::Note(i, p, Rc::new(n))))
                    .collect();
                Resolved::Obj(Some(Obj::Conn(page(items, args, false)?)))
            }
            "commits" => {
                // Newest first, as REST lists them.
                let items = p
                    .commits
                    .iter()
                    .rev()
                    .enumerate()
                    .map(|(k, c)| ((k as i64, 0), Obj::Commit(i, c)))
                    .collect();
                Resolved::Obj(Some(Obj::Conn(page(items, args, false)?)))
            }
            f => Resolved::Value(rest()[snake(f)].clone()),
        })
    }

    fn merge_requests(&mut self, i: usize, args: &Map<String, Value>) -> Result<Conn<'a>, String> {
        let state = args.get("state").and_then(Value::as_str).unwrap_or("all");
        if !["all", "opened", "closed", "merged", "locked"].contains(&state) {
            return Err(format!(
                "Argument 'state' on Field 'mergeRequests' has an invalid value ({state}). Expected type 'MergeRequestState'."
            ));
        }
        let sort = args.get("sort").and_then(Value::as_str).unwrap_or("CREATED_DESC");
        let (by_updated, desc) = match sort.to_ascii_uppercase().as_str() {
            "UPDATED_ASC" => (true, false),
            "UPDATED_DESC" => (true, true),
            "CREATED_ASC" => (false, false),
            "CREATED_DESC" => (false, true),
            _ => {
                return Err(format!(
                    "Argument 'sort' on Field 'mergeRequests' has an invalid value ({sort}). Expected type 'MergeRequestSort'."
                ));
            }
        };
        let (ua, ub) = (time_arg(args, "updatedAfter")?, time_arg(args, "updatedBefore")?);
        let (ca, cb) = (time_arg(args, "createdAfter")?, time_arg(args, "createdBefore")?);
        let iids = strings(args, "iids");
        let sources = strings(args, "sourceBranches");
        let targets = strings(args, "targetBranches");
        let mut items: Vec<((i64, u64), Obj<'a>)> = self.gh.repos[i]
            .pulls
            .iter()
            .filter(|p| state == "all" || mr_state(p) == state)
            .filter(|p| ua.is_none_or(|t| p.updated_at >= t) && ub.is_none_or(|t| p.updated_at <= t))
            .filter(|p| ca.is_none_or(|t| p.created_at >= t) && cb.is_none_or(|t| p.created_at <= t))
            .filter(|p| iids.as_ref().is_none_or(|l| l.contains(&p.number.to_string())))
            .filter(|p| sources.as_ref().is_none_or(|l| l.contains(&p.head_ref)))
            .filter(|p| targets.as_ref().is_none_or(|l| l.contains(&p.base_ref)))
            .map(|p| {
                let at = if by_updated { p.updated_at } else { p.created_at };
                ((at.timestamp_millis(), p.id), Obj::Mr(i, p))
            })
            .collect();
        items.sort_by_key(|(k, _)| *k);
        if desc {
            items.reverse();
        }
        page(items, args, desc)
    }
}

/// `first`/`after` over `items` (already in answer order, `desc` if keys fall).
fn page<'a>(items: Vec<((i64, u64), Obj<'a>)>, args: &Map<String, Value>, desc: bool) -> Result<Conn<'a>, String> {
    let count = items.len();
    let after = match args.get("after") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .and_then(decode_cursor)
                .ok_or_else(|| "Please provide a valid cursor".to_string())?,
        ),
    };
    let start = after.map_or(0, |c| {
        items
            .iter()
            .position(|(k, _)| if desc { *k < c } else { *k > c })
            .unwrap_or(count)
    });
    let size = page_size(args);
    let has_next = count > start + size;
    let page = items
        .into_iter()
        .skip(start)
        .take(size)
        .map(|((k, id), o)| (cursor(k, id), o))
        .collect();
    Ok(Conn {
        page,
        count,
        has_next,
        has_previous: start > 0,
    })
}

enum Resolved<'a> {
    Value(Value),
    Obj(Option<Obj<'a>>),
    List(Vec<Obj<'a>>),
}

impl<'a> Obj<'a> {
    /// A copy for answering (connections' nodes are answered once per selection).
    fn shallow(&self) -> Obj<'a> {
        match self {
            Obj::Query => Obj::Query,
            Obj::Project(i) => Obj::Project(*i),
            Obj::Mr(i, p) => Obj::Mr(*i, p),
            Obj::User(u) => Obj::User(*u),
            Obj::Note(i, p, n) => Obj::Note(*i, p, n.clone()),
            Obj::Commit(i, c) => Obj::Commit(*i, c),
            Obj::Stats(p) => Obj::Stats(p),
            Obj::Position(v) => Obj::Position(v.clone()),
            Obj::Complexity => Obj::Complexity,
            Obj::PageInfo(v) => Obj::PageInfo(v.clone()),
            Obj::Edge(k, o) => Obj::Edge(k.clone(), Box::new(o.shallow())),
            // Connections are never the nodes of a page.
            Obj::Conn(_) => Obj::Query,
        }
    }
}

fn type_name(obj: &Obj<'_>) -> &'static str {
    match obj {
        Obj::Query => "Query",
        Obj::Project(_) => "Project",
        Obj::Mr(..) => "MergeRequest",
        Obj::User(_) => "UserCore",
        Obj::Note(..) => "Note",
        Obj::Commit(..) => "Commit",
        Obj::Stats(_) => "DiffStatsSummary",
        Obj::Position(_) => "DiffPosition",
        Obj::Complexity => "QueryComplexity",
        Obj::PageInfo(_) => "PageInfo",
        Obj::Conn(_) => "Connection",
        Obj::Edge(..) => "Edge",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_names_turn_snake() {
        assert_eq!(decode_cursor(&cursor(-5, 42)), Some((-5, 42)));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(snake("createdAt"), "created_at");
        assert_eq!(snake("webUrl"), "web_url");
    }
}
