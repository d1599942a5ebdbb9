//! Executes a [`Plan`] against the borrowed dataset, writing the JSON answer straight into a
//! byte buffer (no intermediate values, no copies of the dataset). Connections are windows
//! over either the natural order of a list (nested reviews, commits, comments: no allocation)
//! or a per-request sorted index (pull requests, deployments, releases).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::plan::{Args, CursorPos, FieldSel, OrderField, Plan, encode_cursor, location};
use super::schema::{F, Item, Ty};
use crate::github::render::{
    Urls, author_association, bot_slug, commit_node_id, is_bot, org_id, org_node_id, pr_commit_node_id, pr_state,
    push_iso,
};
use crate::model::{GhCommit, GhRepo, GhUser, GithubData};

/// What `rateLimit` reports (after this query was charged).
#[derive(Clone, Copy, Debug)]
pub struct RateInfo {
    pub cost: u32,
    pub limit: u32,
    pub used: u32,
    pub reset_at: DateTime<Utc>,
    pub node_count: u64,
}

/// Runs the plan; returns the whole response body (`{"data":…,"errors":[…]}`).
pub fn execute(gh: &GithubData, urls: &Urls, plan: &Plan<'_>, rate: Option<RateInfo>, viewer: &GhUser) -> Vec<u8> {
    let mut ex = Exec {
        gh,
        urls,
        out: Vec::with_capacity(64 * 1024),
        errors: plan.field_errors.clone(),
        rate,
        viewer,
        commit_index: HashMap::new(),
        latest_release: HashMap::new(),
        node_index: None,
    };
    ex.out.extend_from_slice(b"{\"data\":");
    let data_null = plan
        .root
        .iter()
        .any(|f| plan.failed.contains(f.key) && matches!(f.f, F::Viewer | F::Nodes));
    if data_null {
        ex.out.extend_from_slice(b"null");
    } else {
        ex.w_query(plan);
    }
    if !ex.errors.is_empty() {
        ex.out.extend_from_slice(b",\"errors\":");
        let errors = serde_json::to_vec(&ex.errors).unwrap_or_else(|_| b"[]".to_vec());
        ex.out.extend_from_slice(&errors);
    }
    ex.out.push(b'}');
    ex.out
}

/// A node found by its global id.
#[derive(Clone, Copy, Debug)]
enum NodeRef {
    Org,
    User(usize),
    Repo(usize),
    Pr(usize, usize),
    Review(usize, usize, usize),
    Comment(usize, usize, usize),
    Deployment(usize, usize),
    Release(usize, usize),
}

/// Where a connection's items come from (indices below are into the dataset's vectors).
#[derive(Clone, Copy, Debug)]
enum Source {
    Prs(usize),
    Reviews(usize, usize),
    PrCommits(usize, usize),
    Comments(usize, usize),
    /// The line comments of review `k` of a pull request.
    ReviewComments(usize, usize, usize),
    Deployments(usize),
    Statuses(usize, usize),
    Releases(usize),
}

/// The order of a connection's items.
enum Order {
    /// Positions `0..n` of the list (reversed when `rev`); cursors are positions.
    Pos { n: usize, rev: bool },
    /// `(key, tie, index)` already sorted in the requested direction; cursors are keys.
    Keyed { items: Vec<(i64, u64, u32)>, desc: bool },
}

impl Order {
    fn len(&self) -> usize {
        match self {
            Order::Pos { n, .. } => *n,
            Order::Keyed { items, .. } => items.len(),
        }
    }

    fn item(&self, i: usize) -> usize {
        match self {
            Order::Pos { n, rev: false } => i.min(n.saturating_sub(1)),
            Order::Pos { n, rev: true } => n - 1 - i,
            Order::Keyed { items, .. } => items[i].2 as usize,
        }
    }

    fn cursor(&self, i: usize) -> CursorPos {
        match self {
            Order::Pos { .. } => CursorPos { key: i as i64, tie: 0 },
            Order::Keyed { items, .. } => CursorPos {
                key: items[i].0,
                tie: items[i].1,
            },
        }
    }

    /// Index of the first item after cursor `c`.
    fn after(&self, c: CursorPos) -> usize {
        match self {
            Order::Pos { n, .. } => usize::try_from(c.key.saturating_add(1)).unwrap_or(0).min(*n),
            Order::Keyed { items, desc } => items.partition_point(|&(k, t, _)| {
                let e = CursorPos { key: k, tie: t };
                if *desc { e >= c } else { e <= c }
            }),
        }
    }

    /// Index of the first item at or past cursor `c`.
    fn before(&self, c: CursorPos) -> usize {
        match self {
            Order::Pos { n, .. } => usize::try_from(c.key).unwrap_or(0).min(*n),
            Order::Keyed { items, desc } => items.partition_point(|&(k, t, _)| {
                let e = CursorPos { key: k, tie: t };
                if *desc { e > c } else { e < c }
            }),
        }
    }

    /// The slice `[lo, hi)` that `first`/`last`/`after`/`before` select.
    fn window(&self, a: &Args) -> (usize, usize) {
        let n = self.len();
        let mut lo = a.after.map_or(0, |c| self.after(c));
        let mut hi = a.before.map_or(n, |c| self.before(c)).max(lo);
        if let Some(f) = a.first {
            hi = hi.min(lo.saturating_add(usize::try_from(f).unwrap_or(0)));
        }
        if let Some(l) = a.last {
            lo = lo.max(hi.saturating_sub(usize::try_from(l).unwrap_or(0)));
        }
        (lo, hi)
    }
}

fn keyed(mut items: Vec<(i64, u64, u32)>, desc: bool) -> Order {
    if desc {
        items.sort_unstable_by_key(|e| std::cmp::Reverse((e.0, e.1)));
    } else {
        items.sort_unstable_by_key(|e| (e.0, e.1));
    }
    Order::Keyed { items, desc }
}

fn millis(d: &DateTime<Utc>) -> i64 {
    d.timestamp_millis()
}

/// How a commit is known: fully (a PR commit) or only by its sha (merge commits, review and
/// deployment commits), with a time to fall back on.
#[derive(Clone, Copy)]
enum CommitSrc<'d> {
    Full(&'d GhCommit),
    Sha {
        sha: &'d str,
        at: DateTime<Utc>,
        pr: Option<(usize, usize)>,
    },
}

#[derive(Clone, Copy)]
enum Acct<'d> {
    User(&'d GhUser),
    Org(&'d str),
}

struct Exec<'d> {
    gh: &'d GithubData,
    urls: &'d Urls,
    out: Vec<u8>,
    errors: Vec<Value>,
    rate: Option<RateInfo>,
    viewer: &'d GhUser,
    /// Per repository: sha → commit over all its PR commits (built on first need).
    commit_index: HashMap<usize, HashMap<&'d str, &'d GhCommit>>,
    /// Per repository: id of the latest release.
    latest_release: HashMap<usize, Option<u64>>,
    node_index: Option<HashMap<&'d str, NodeRef>>,
}

// ---------------------------------------------------------------------------------------------
// JSON primitives

fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

impl<'d> Exec<'d> {
    fn key(&mut self, first: &mut bool, k: &str) {
        if !*first {
            self.out.push(b',');
        }
        *first = false;
        push_str(&mut self.out, k);
        self.out.push(b':');
    }

    fn s(&mut self, v: &str) {
        push_str(&mut self.out, v);
    }

    fn n(&mut self, v: u64) {
        push_u64(&mut self.out, v);
    }

    /// A BigInt: GitHub encodes it as a string.
    fn big(&mut self, v: u64) {
        self.out.push(b'"');
        push_u64(&mut self.out, v);
        self.out.push(b'"');
    }

    fn b(&mut self, v: bool) {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
    }

    fn null(&mut self) {
        self.out.extend_from_slice(b"null");
    }

    fn date(&mut self, d: &DateTime<Utc>) {
        self.out.push(b'"');
        push_iso(&mut self.out, d);
        self.out.push(b'"');
    }

    fn date_opt(&mut self, d: &Option<DateTime<Utc>>) {
        match d {
            Some(d) => self.date(d),
            None => self.null(),
        }
    }

    fn not_found(&mut self, path: Value, f: &FieldSel<'_>, message: String) {
        self.errors.push(json!({
            "type": "NOT_FOUND",
            "path": path,
            "locations": location(f.pos),
            "message": message,
        }));
    }

    // -----------------------------------------------------------------------------------------
    // Query

    fn w_query(&mut self, plan: &Plan<'_>) {
        let gh = self.gh;
        self.out.push(b'{');
        let mut first = true;
        for f in &plan.root {
            self.key(&mut first, f.key);
            if plan.failed.contains(f.key) || (plan.dry_run && !matches!(f.f, F::RateLimit | F::Typename)) {
                self.null();
                continue;
            }
            match f.f {
                F::Typename => self.s("Query"),
                F::RateLimit => match self.rate {
                    Some(r) => self.w_rate(&f.sub, r),
                    None => self.null(),
                },
                F::Viewer => self.w_account(&f.sub, Acct::User(self.viewer), Ty::User),
                F::Repository => {
                    let owner = f.args.owner.as_deref().unwrap_or_default();
                    let name = f.args.name.as_deref().unwrap_or_default();
                    let found = gh
                        .repos
                        .iter()
                        .position(|r| r.owner.eq_ignore_ascii_case(owner) && r.name.eq_ignore_ascii_case(name));
                    match found {
                        Some(ri) => self.w_repo(&f.sub, ri, Some(f.key)),
                        None => {
                            self.null();
                            self.not_found(
                                json!([f.key]),
                                f,
                                format!("Could not resolve to a Repository with the name '{owner}/{name}'."),
                            );
                        }
                    }
                }
                F::Node => {
                    let id = f.args.id.as_deref().unwrap_or_default();
                    match self.find_node(id) {
                        Some(n) => self.w_node(&f.sub, n),
                        None => {
                            self.null();
                            self.not_found(
                                json!([f.key]),
                                f,
                                format!("Could not resolve to a node with the global id of '{id}'"),
                            );
                        }
                    }
                }
                F::Nodes => {
                    let ids = f.args.ids.as_deref().unwrap_or_default();
                    if ids.len() > 8 {
                        self.build_node_index();
                    }
                    self.out.push(b'[');
                    for (i, id) in ids.iter().enumerate() {
                        if i > 0 {
                            self.out.push(b',');
                        }
                        match self.find_node(id) {
                            Some(n) => self.w_node(&f.sub, n),
                            None => {
                                self.null();
                                self.not_found(
                                    json!([f.key, i]),
                                    f,
                                    format!("Could not resolve to a node with the global id of '{id}'"),
                                );
                            }
                        }
                    }
                    self.out.push(b']');
                }
                F::User => {
                    let login = f.args.login.as_deref().unwrap_or_default();
                    match gh
                        .users
                        .iter()
                        .find(|u| !is_bot(u) && u.login.eq_ignore_ascii_case(login))
                    {
                        Some(u) => self.w_account(&f.sub, Acct::User(u), Ty::User),
                        None => {
                            self.null();
                            self.not_found(
                                json!([f.key]),
                                f,
                                format!("Could not resolve to a User with the login of '{login}'."),
                            );
                        }
                    }
                }
                F::Organization => {
                    let login = f.args.login.as_deref().unwrap_or_default();
                    if gh.org.eq_ignore_ascii_case(login) {
                        self.w_account(&f.sub, Acct::Org(&gh.org), Ty::Organization);
                    } else {
                        self.null();
                        self.not_found(
                            json!([f.key]),
                            f,
                            format!("Could not resolve to an Organization with the login of '{login}'."),
                        );
                    }
                }
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    fn w_rate(&mut self, sel: &[FieldSel<'_>], r: RateInfo) {
        self.out.push(b'{');
        let mut first = true;
        for f in sel {
            self.key(&mut first, f.key);
            match f.f {
                F::Typename => self.s("RateLimit"),
                F::Cost => self.n(u64::from(r.cost)),
                F::Limit => self.n(u64::from(r.limit)),
                F::NodeCount => self.n(r.node_count),
                F::Remaining => self.n(u64::from(r.limit.saturating_sub(r.used))),
                F::Used => self.n(u64::from(r.used.min(r.limit))),
                F::ResetAt => self.date(&r.reset_at),
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    // -----------------------------------------------------------------------------------------
    // Nodes by global id

    fn build_node_index(&mut self) {
        if self.node_index.is_some() {
            return;
        }
        let gh = self.gh;
        let mut m: HashMap<&'d str, NodeRef> = HashMap::new();
        for (ui, u) in gh.users.iter().enumerate() {
            m.insert(&u.node_id, NodeRef::User(ui));
        }
        for (ri, r) in gh.repos.iter().enumerate() {
            m.insert(&r.node_id, NodeRef::Repo(ri));
            for (pi, p) in r.pulls.iter().enumerate() {
                m.insert(&p.node_id, NodeRef::Pr(ri, pi));
                for (k, x) in p.reviews.iter().enumerate() {
                    m.insert(&x.node_id, NodeRef::Review(ri, pi, k));
                }
                for (k, x) in p.comments.iter().enumerate() {
                    m.insert(&x.node_id, NodeRef::Comment(ri, pi, k));
                }
            }
            for (k, x) in r.deployments.iter().enumerate() {
                m.insert(&x.node_id, NodeRef::Deployment(ri, k));
            }
            for (k, x) in r.releases.iter().enumerate() {
                m.insert(&x.node_id, NodeRef::Release(ri, k));
            }
        }
        self.node_index = Some(m);
    }

    /// Finds a node: from the index when built, else by scanning (pull requests and
    /// repositories first; one scan per lookup, no index for a single `node(id:)`).
    fn find_node(&mut self, id: &str) -> Option<NodeRef> {
        if let Some(idx) = &self.node_index {
            return idx
                .get(id)
                .copied()
                .or_else(|| (org_node_id(&self.gh.org) == id).then_some(NodeRef::Org));
        }
        let gh = self.gh;
        for (ri, r) in gh.repos.iter().enumerate() {
            if r.node_id == id {
                return Some(NodeRef::Repo(ri));
            }
            if let Some(pi) = r.pulls.iter().position(|p| p.node_id == id) {
                return Some(NodeRef::Pr(ri, pi));
            }
        }
        if let Some(ui) = gh.users.iter().position(|u| u.node_id == id) {
            return Some(NodeRef::User(ui));
        }
        if org_node_id(&gh.org) == id {
            return Some(NodeRef::Org);
        }
        for (ri, r) in gh.repos.iter().enumerate() {
            for (pi, p) in r.pulls.iter().enumerate() {
                if let Some(k) = p.reviews.iter().position(|x| x.node_id == id) {
                    return Some(NodeRef::Review(ri, pi, k));
                }
                if let Some(k) = p.comments.iter().position(|x| x.node_id == id) {
                    return Some(NodeRef::Comment(ri, pi, k));
                }
            }
            if let Some(k) = r.deployments.iter().position(|x| x.node_id == id) {
                return Some(NodeRef::Deployment(ri, k));
            }
            if let Some(k) = r.releases.iter().position(|x| x.node_id == id) {
                return Some(NodeRef::Release(ri, k));
            }
        }
        None
    }

    fn w_node(&mut self, sel: &[FieldSel<'_>], n: NodeRef) {
        match n {
            NodeRef::Org => self.w_account(sel, Acct::Org(&self.gh.org), Ty::Organization),
            NodeRef::User(ui) => {
                let u = &self.gh.users[ui];
                let ty = if is_bot(u) { Ty::Bot } else { Ty::User };
                self.w_account(sel, Acct::User(u), ty);
            }
            NodeRef::Repo(ri) => self.w_repo(sel, ri, None),
            NodeRef::Pr(ri, pi) => self.w_pr(sel, ri, pi),
            NodeRef::Review(ri, pi, k) => self.w_review(sel, ri, pi, k),
            NodeRef::Comment(ri, pi, k) => self.w_comment(sel, ri, pi, k),
            NodeRef::Deployment(ri, k) => self.w_deployment(sel, ri, k),
            NodeRef::Release(ri, k) => self.w_release(sel, ri, k),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Accounts

    /// An `Actor` (User or Bot by the account's kind); `null` for unknown accounts.
    fn w_actor(&mut self, sel: &[FieldSel<'_>], idx: Option<usize>) {
        match idx.and_then(|i| self.gh.users.get(i)) {
            Some(u) => {
                let ty = if is_bot(u) { Ty::Bot } else { Ty::User };
                self.w_account(sel, Acct::User(u), ty);
            }
            None => self.null(),
        }
    }

    /// A field typed `User`: bots are not users, so they resolve to `null`.
    fn w_user_only(&mut self, sel: &[FieldSel<'_>], idx: Option<usize>) {
        match idx.and_then(|i| self.gh.users.get(i)) {
            Some(u) if !is_bot(u) => self.w_account(sel, Acct::User(u), Ty::User),
            _ => self.null(),
        }
    }

    fn w_account(&mut self, sel: &[FieldSel<'_>], a: Acct<'d>, ty: Ty) {
        let bit = ty.bit();
        let (login, id, node_id, name): (&str, u64, String, &str) = match a {
            Acct::User(u) => {
                let login = if ty == Ty::Bot { bot_slug(&u.login) } else { &u.login };
                (login, u.id, String::new(), &u.name)
            }
            Acct::Org(o) => (o, org_id(o), org_node_id(o), o),
        };
        let kind = match ty {
            Ty::Bot => "Bot",
            Ty::Organization => "Organization",
            _ => "User",
        };
        self.out.push(b'{');
        let mut first = true;
        for f in sel {
            if f.mask & bit == 0 {
                continue;
            }
            self.key(&mut first, f.key);
            match f.f {
                F::Typename => self.s(ty.name()),
                F::Login => self.s(login),
                F::Id => match a {
                    Acct::User(u) => self.s(&u.node_id),
                    Acct::Org(_) => self.s(&node_id),
                },
                F::DatabaseId => self.n(id),
                F::Name => self.s(name),
                F::Email => match a {
                    Acct::User(u) => self.s(&u.email),
                    Acct::Org(_) => self.s(""),
                },
                F::AvatarUrl => {
                    let url = self.urls.avatar(id);
                    self.s(&url);
                }
                F::Url => {
                    let url = self.urls.account_html(login, kind);
                    self.s(&url);
                }
                F::ResourcePath => {
                    let url = self.urls.account_html(login, kind);
                    let path = url.strip_prefix(&self.urls.origin).unwrap_or(&url).to_string();
                    self.s(&path);
                }
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    // -----------------------------------------------------------------------------------------
    // Repository

    fn w_repo(&mut self, sel: &[FieldSel<'_>], ri: usize, top: Option<&str>) {
        let gh = self.gh;
        let repo = &gh.repos[ri];
        let bit = Ty::Repository.bit();
        self.out.push(b'{');
        let mut first = true;
        for f in sel {
            if f.mask & bit == 0 {
                continue;
            }
            self.key(&mut first, f.key);
            match f.f {
                F::Typename => self.s("Repository"),
                F::Id => self.s(&repo.node_id),
                F::DatabaseId => self.n(repo.id),
                F::Name => self.s(&repo.name),
                F::NameWithOwner => {
                    let n = format!("{}/{}", repo.owner, repo.name);
                    self.s(&n);
                }
                F::Owner => {
                    let user = (!repo.owner.eq_ignore_ascii_case(&gh.org))
                        .then(|| {
                            gh.users
                                .iter()
                                .find(|u| !is_bot(u) && u.login.eq_ignore_ascii_case(&repo.owner))
                        })
                        .flatten();
                    match user {
                        Some(u) => self.w_account(&f.sub, Acct::User(u), Ty::User),
                        None => self.w_account(&f.sub, Acct::Org(&repo.owner), Ty::Organization),
                    }
                }
                F::Description => self.null(),
                F::IsArchived => self.b(repo.archived),
                F::IsPrivate => self.b(repo.private),
                F::IsFork => self.b(false),
                F::CreatedAt => self.date(&repo.created_at),
                F::UpdatedAt => self.date(&repo.updated_at),
                F::PushedAt => self.date(&repo.pushed_at),
                F::Url => {
                    let u = self.urls.repo_html(repo);
                    self.s(&u);
                }
                F::ResourcePath => {
                    let p = format!("/{}/{}", repo.owner, repo.name);
                    self.s(&p);
                }
                F::Visibility => self.s(if repo.private { "PRIVATE" } else { "PUBLIC" }),
                F::DefaultBranchRef => self.w_ref(&f.sub, ri, &repo.default_branch),
                F::PullRequests => self.w_conn(f, Source::Prs(ri)),
                F::Deployments => self.w_conn(f, Source::Deployments(ri)),
                F::Releases => self.w_conn(f, Source::Releases(ri)),
                F::PullRequest => {
                    let number = f.args.number.unwrap_or(-1);
                    match u64::try_from(number)
                        .ok()
                        .and_then(|n| repo.pulls.binary_search_by_key(&n, |p| p.number).ok())
                    {
                        Some(pi) => self.w_pr(&f.sub, ri, pi),
                        None => {
                            self.null();
                            let path = match top {
                                Some(t) => json!([t, f.key]),
                                None => json!([f.key]),
                            };
                            self.not_found(
                                path,
                                f,
                                format!("Could not resolve to a PullRequest with the number of {number}."),
                            );
                        }
                    }
                }
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    fn w_ref(&mut self, sel: &[FieldSel<'_>], ri: usize, name: &str) {
        let repo = &self.gh.repos[ri];
        let prefix = if repo.releases.iter().any(|r| r.tag_name == name) {
            "refs/tags/"
        } else {
            "refs/heads/"
        };
        let bit = Ty::Ref.bit();
        self.out.push(b'{');
        let mut first = true;
        for f in sel {
            if f.mask & bit == 0 {
                continue;
            }
            self.key(&mut first, f.key);
            match f.f {
                F::Typename => self.s("Ref"),
                F::Id => {
                    let id = base64_id(&format!("03:Ref{}:{prefix}{name}", repo.id));
                    self.s(&id);
                }
                F::Name => self.s(name),
                F::Prefix => self.s(prefix),
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    // -----------------------------------------------------------------------------------------
    // Pull requests and what hangs off them

    fn w_pr(&mut self, sel: &[FieldSel<'_>], ri: usize, pi: usize) {
        let gh = self.gh;
        let repo = &gh.repos[ri];
        let pr = &repo.pulls[pi];
        let bit = Ty::PullRequest.bit();
        self.out.push(b'{');
        let mut first = true;
        for f in sel {
            if f.mask & bit == 0 {
                continue;
            }
            self.key(&mut first, f.key);
            match f.f {
                F::Typename => self.s("PullRequest"),
                F::Id => self.s(&pr.node_id),
                F::DatabaseId => self.n(pr.id),
                F::FullDatabaseId => self.big(pr.id),
                F::Number => self.n(pr.number),
                F::Title => self.s(&pr.title),
                F::Body => self.s(&pr.body),
                F::State => self.s(pr_state(pr)),
                F::IsDraft => self.b(pr.draft),
                F::Closed => self.b(pr_state(pr) != "OPEN"),
                F::Merged => self.b(pr.merged_at.is_some()),
                F::CreatedAt => self.date(&pr.created_at),
                F::UpdatedAt => self.date(&pr.updated_at),
                F::ClosedAt => self.date_opt(&pr.closed_at),
                F::MergedAt => self.date_opt(&pr.merged_at),
                F::Author => self.w_actor(&f.sub, Some(pr.author)),
                F::AuthorAssociation => self.s(author_association(gh.users.get(pr.author))),
                F::BaseRefName => self.s(&pr.base_ref),
                F::HeadRefName => self.s(&pr.head_ref),
                F::HeadRefOid => self.s(&pr.head_sha),
                F::Additions => self.n(pr.additions),
                F::Deletions => self.n(pr.deletions),
                F::ChangedFiles => self.n(pr.changed_files),
                F::MergeCommit => match &pr.merge_commit_sha {
                    Some(sha) if pr.merged_at.is_some() => self.w_commit(
                        &f.sub,
                        ri,
                        CommitSrc::Sha {
                            sha,
                            at: pr.merged_at.unwrap_or(pr.updated_at),
                            pr: None,
                        },
                    ),
                    _ => self.null(),
                },
                F::Url | F::Permalink => {
                    let u = format!("{}/pull/{}", self.urls.repo_html(repo), pr.number);
                    self.s(&u);
                }
                F::ResourcePath => {
                    let p = format!("/{}/{}/pull/{}", repo.owner, repo.name, pr.number);
                    self.s(&p);
                }
                F::Repository | F::BaseRepository | F::HeadRepository => {
                    self.w_repo(&f.sub, ri, None);
                }
                F::Reviews => self.w_conn(f, Source::Reviews(ri, pi)),
                F::Commits => self.w_conn(f, Source::PrCommits(ri, pi)),
                F::Comments => self.w_conn(f, Source::Comments(ri, pi)),
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    fn w_review(&mut self, sel: &[FieldSel<'_>], ri: usize, pi: usize, k: usize) {
        let gh = self.gh;
        let repo = &gh.repos[ri];
        let pr = &repo.pulls[pi];
        let r = &pr.reviews[k];
        let bit = Ty::Review.bit();
        self.out.push(b'{');
        let mut first = true;
        for f in sel {
            if f.mask & bit == 0 {
                continue;
            }
            self.key(&mut first, f.key);
            match f.f {
                F::Typename => self.s("PullRequestReview"),
                F::Id => self.s(&r.node_id),
                F::DatabaseId => self.n(r.id),
                F::FullDatabaseId => self.big(r.id),
                F::State => self.s(&r.state),
                F::Body => self.s(&r.body),
                F::SubmittedAt | F::CreatedAt | F::UpdatedAt | F::PublishedAt => {
                    self.date(&r.submitted_at);
                }
                F::Author => self.w_actor(&f.sub, Some(r.author)),
                F::AuthorAssociation => self.s(author_association(gh.users.get(r.author))),
                F::Commit => self.w_commit(
                    &f.sub,
                    ri,
                    CommitSrc::Sha {
                        sha: &r.commit_sha,
                        at: r.submitted_at,
                        pr: Some((ri, pi)),
                    },
                ),
                F::Url => {
                    let u = format!(
                        "{}/pull/{}#pullrequestreview-{}",
                        self.urls.repo_html(repo),
                        pr.number,
                        r.id
                    );
                    self.s(&u);
                }
                F::ResourcePath => {
                    let p = format!(
                        "/{}/{}/pull/{}#pullrequestreview-{}",
                        repo.owner, repo.name, pr.number, r.id
                    );
                    self.s(&p);
                }
                F::PullRequest => self.w_pr(&f.sub, ri, pi),
                F::Repository => self.w_repo(&f.sub, ri, None),
                F::Comments => self.w_conn(f, Source::ReviewComments(ri, pi, k)),
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    fn w_pr_commit(&mut self, sel: &[FieldSel<'_>], ri: usize, pi: usize, k: usize) {
        let gh = self.gh;
        let repo = &gh.repos[ri];
        let pr = &repo.pulls[pi];
        let c = &pr.commits[k];
        let bit = Ty::PrCommit.bit();
        self.out.push(b'{');
        let mut first = true;
        for f in sel {
            if f.mask & bit == 0 {
                continue;
            }
            self.key(&mut first, f.key);
            match f.f {
                F::Typename => self.s("PullRequestCommit"),
                F::Id => {
                    let id = pr_commit_node_id(pr, &c.sha);
                    self.s(&id);
                }
                F::Commit => self.w_commit(&f.sub, ri, CommitSrc::Full(c)),
                F::Url => {
                    let u = format!("{}/pull/{}/commits/{}", self.urls.repo_html(repo), pr.number, c.sha);
                    self.s(&u);
                }
                F::ResourcePath => {
                    let p = format!("/{}/{}/pull/{}/commits/{}", repo.owner, repo.name, pr.number, c.sha);
                    self.s(&p);
                }
                F::PullRequest => self.w_pr(&f.sub, ri, pi),
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    /// Does the selection need more of a commit than its sha?
    fn needs_commit_body(sel: &[FieldSel<'_>]) -> bool {
        let bit = Ty::Commit.bit();
        sel.iter().any(|f| {
            f.mask & bit != 0
                && !matches!(
                    f.f,
                    F::Typename | F::Id | F::Oid | F::AbbreviatedOid | F::Url | F::ResourcePath | F::Repository
                )
        })
    }

    fn commit_by_sha(&mut self, ri: usize, sha: &str, pr: Option<(usize, usize)>) -> Option<&'d GhCommit> {
        let gh = self.gh;
        if let Some((r, p)) = pr
            && let Some(c) = gh.repos[r].pulls[p].commits.iter().find(|c| c.sha == sha)
        {
            return Some(c);
        }
        let idx = self.commit_index.entry(ri).or_insert_with(|| {
            gh.repos[ri]
                .pulls
                .iter()
                .flat_map(|p| p.commits.iter())
                .map(|c| (c.sha.as_str(), c))
                .collect()
        });
        idx.get(sha).copied()
    }

    fn w_commit(&mut self, sel: &[FieldSel<'_>], ri: usize, src: CommitSrc<'d>) {
        let repo: &'d GhRepo = &self.gh.repos[ri];
        let (sha, full, at) = match src {
            CommitSrc::Full(c) => (c.sha.as_str(), Some(c), c.committed_at),
            CommitSrc::Sha { sha, at, pr } => {
                let full = if Self::needs_commit_body(sel) {
                    self.commit_by_sha(ri, sha, pr)
                } else {
                    None
                };
                (sha, full, at)
            }
        };
        let bit = Ty::Commit.bit();
        self.out.push(b'{');
        let mut first = true;
        for f in sel {
            if f.mask & bit == 0 {
                continue;
            }
            self.key(&mut first, f.key);
            match f.f {
                F::Typename => self.s("Commit"),
                F::Id => {
                    let id = commit_node_id(repo, sha);
                    self.s(&id);
                }
                F::Oid => self.s(sha),
                F::AbbreviatedOid => self.s(sha.get(..7).unwrap_or(sha)),
                F::Message => self.s(full.map_or("", |c| c.message.as_str())),
                F::MessageHeadline => {
                    let m = full.map_or("", |c| c.message.as_str());
                    self.s(m.lines().next().unwrap_or(""));
                }
                F::MessageBody => {
                    let m = full.map_or("", |c| c.message.as_str());
                    let body = m.split_once('\n').map_or("", |(_, b)| b.trim_start_matches('\n'));
                    self.s(body);
                }
                F::AuthoredDate => self.date(&full.map_or(at, |c| c.authored_at)),
                F::CommittedDate => self.date(&full.map_or(at, |c| c.committed_at)),
                F::Author => match full {
                    Some(c) => self.w_git_actor(&f.sub, c, c.authored_at),
                    None => self.null(),
                },
                F::Committer => match full {
                    Some(c) => self.w_git_actor(&f.sub, c, c.committed_at),
                    None => self.null(),
                },
                F::Url => {
                    let u = format!("{}/commit/{sha}", self.urls.repo_html(repo));
                    self.s(&u);
                }
                F::ResourcePath => {
                    let p = format!("/{}/{}/commit/{sha}", repo.owner, repo.name);
                    self.s(&p);
                }
                F::Repository => self.w_repo(&f.sub, ri, None),
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    fn w_git_actor(&mut self, sel: &[FieldSel<'_>], c: &'d GhCommit, date: DateTime<Utc>) {
        let bit = Ty::GitActor.bit();
        self.out.push(b'{');
        let mut first = true;
        for f in sel {
            if f.mask & bit == 0 {
                continue;
            }
            self.key(&mut first, f.key);
            match f.f {
                F::Typename => self.s("GitActor"),
                F::Name => self.s(&c.author_name),
                F::Email => self.s(&c.author_email),
                F::Date => self.date(&date),
                F::User => self.w_user_only(&f.sub, c.author),
                F::AvatarUrl => {
                    let id = c.author.and_then(|i| self.gh.users.get(i)).map_or(0, |u| u.id);
                    let u = self.urls.avatar(id);
                    self.s(&u);
                }
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    fn w_comment(&mut self, sel: &[FieldSel<'_>], ri: usize, pi: usize, k: usize) {
        let gh = self.gh;
        let repo = &gh.repos[ri];
        let pr = &repo.pulls[pi];
        let c = &pr.comments[k];
        let bit = Ty::Comment.bit();
        self.out.push(b'{');
        let mut first = true;
        for f in sel {
            if f.mask & bit == 0 {
                continue;
            }
            self.key(&mut first, f.key);
            match f.f {
                F::Typename => self.s("IssueComment"),
                F::Id => self.s(&c.node_id),
                F::DatabaseId => self.n(c.id),
                F::FullDatabaseId => self.big(c.id),
                F::Body => self.s(&c.body),
                F::CreatedAt | F::PublishedAt => self.date(&c.created_at),
                F::UpdatedAt => self.date(&c.updated_at),
                F::Author => self.w_actor(&f.sub, Some(c.author)),
                F::AuthorAssociation => self.s(author_association(gh.users.get(c.author))),
                F::Url => {
                    let u = format!("{}/pull/{}#issuecomment-{}", self.urls.repo_html(repo), pr.number, c.id);
                    self.s(&u);
                }
                F::ResourcePath => {
                    let p = format!("/{}/{}/pull/{}#issuecomment-{}", repo.owner, repo.name, pr.number, c.id);
                    self.s(&p);
                }
                F::PullRequest => self.w_pr(&f.sub, ri, pi),
                F::Repository => self.w_repo(&f.sub, ri, None),
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    /// A line comment (`PullRequestReviewComment`), `k` indexing the pull request's list.
    fn w_review_comment(&mut self, sel: &[FieldSel<'_>], ri: usize, pi: usize, k: usize) {
        let gh = self.gh;
        let repo = &gh.repos[ri];
        let pr = &repo.pulls[pi];
        let c = &pr.review_comments[k];
        let bit = Ty::ReviewComment.bit();
        self.out.push(b'{');
        let mut first = true;
        for f in sel {
            if f.mask & bit == 0 {
                continue;
            }
            self.key(&mut first, f.key);
            match f.f {
                F::Typename => self.s("PullRequestReviewComment"),
                F::Id => self.s(&c.node_id),
                F::DatabaseId => self.n(c.id),
                F::FullDatabaseId => self.big(c.id),
                F::Body => self.s(&c.body),
                F::Path => self.s(&c.path),
                F::CreatedAt | F::PublishedAt => self.date(&c.created_at),
                F::UpdatedAt => self.date(&c.updated_at),
                F::Author => self.w_actor(&f.sub, Some(c.author)),
                F::AuthorAssociation => self.s(author_association(gh.users.get(c.author))),
                F::Commit => self.w_commit(
                    &f.sub,
                    ri,
                    CommitSrc::Sha {
                        sha: &c.commit_sha,
                        at: c.created_at,
                        pr: Some((ri, pi)),
                    },
                ),
                F::Url => {
                    let u = format!("{}/pull/{}#discussion_r{}", self.urls.repo_html(repo), pr.number, c.id);
                    self.s(&u);
                }
                F::ResourcePath => {
                    let p = format!("/{}/{}/pull/{}#discussion_r{}", repo.owner, repo.name, pr.number, c.id);
                    self.s(&p);
                }
                F::PullRequest => self.w_pr(&f.sub, ri, pi),
                F::PullRequestReview => match pr.reviews.iter().position(|r| r.id == c.review_id) {
                    Some(rk) => self.w_review(&f.sub, ri, pi, rk),
                    None => self.null(),
                },
                F::Repository => self.w_repo(&f.sub, ri, None),
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    // -----------------------------------------------------------------------------------------
    // Deployments and releases

    fn w_deployment(&mut self, sel: &[FieldSel<'_>], ri: usize, k: usize) {
        let gh = self.gh;
        let repo = &gh.repos[ri];
        let d = &repo.deployments[k];
        let bit = Ty::Deployment.bit();
        self.out.push(b'{');
        let mut first = true;
        for f in sel {
            if f.mask & bit == 0 {
                continue;
            }
            self.key(&mut first, f.key);
            match f.f {
                F::Typename => self.s("Deployment"),
                F::Id => self.s(&d.node_id),
                F::DatabaseId => self.n(d.id),
                F::Environment | F::OriginalEnvironment | F::LatestEnvironment => {
                    self.s(&d.environment);
                }
                F::CreatedAt => self.date(&d.created_at),
                F::UpdatedAt => self.date(&d.updated_at),
                F::Task => self.s(&d.task),
                F::Description => self.null(),
                F::Payload => self.s("{}"),
                F::State => {
                    let state = match d.statuses.last().map(|s| s.state.as_str()) {
                        Some("success") => "ACTIVE",
                        Some("failure") => "FAILURE",
                        Some("error") => "ERROR",
                        Some("inactive") => "INACTIVE",
                        Some("queued") => "QUEUED",
                        Some("in_progress") => "IN_PROGRESS",
                        _ => "PENDING",
                    };
                    self.s(state);
                }
                F::Ref => {
                    let is_sha = d.r#ref.len() == 40 && d.r#ref.bytes().all(|b| b.is_ascii_hexdigit());
                    if is_sha {
                        self.null();
                    } else {
                        self.w_ref(&f.sub, ri, &d.r#ref);
                    }
                }
                F::CommitOid => self.s(&d.sha),
                F::Commit => self.w_commit(
                    &f.sub,
                    ri,
                    CommitSrc::Sha {
                        sha: &d.sha,
                        at: d.created_at,
                        pr: None,
                    },
                ),
                F::Creator => self.w_actor(&f.sub, Some(d.creator)),
                F::LatestStatus => match d.statuses.len() {
                    0 => self.null(),
                    n => self.w_status(&f.sub, ri, k, n - 1),
                },
                F::Statuses => self.w_conn(f, Source::Statuses(ri, k)),
                F::Repository => self.w_repo(&f.sub, ri, None),
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    fn w_status(&mut self, sel: &[FieldSel<'_>], ri: usize, k: usize, si: usize) {
        let d = &self.gh.repos[ri].deployments[k];
        let s = &d.statuses[si];
        let bit = Ty::Status.bit();
        self.out.push(b'{');
        let mut first = true;
        for f in sel {
            if f.mask & bit == 0 {
                continue;
            }
            self.key(&mut first, f.key);
            match f.f {
                F::Typename => self.s("DeploymentStatus"),
                F::Id => self.s(&s.node_id),
                F::State => {
                    let up = s.state.to_ascii_uppercase();
                    self.s(&up);
                }
                F::Description => self.s(&s.description),
                F::CreatedAt | F::UpdatedAt => self.date(&s.created_at),
                F::Environment => self.s(&d.environment),
                F::LogUrl | F::EnvironmentUrl => self.null(),
                F::Creator => self.w_actor(&f.sub, Some(d.creator)),
                F::Deployment => self.w_deployment(&f.sub, ri, k),
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    fn w_release(&mut self, sel: &[FieldSel<'_>], ri: usize, k: usize) {
        let gh = self.gh;
        let repo = &gh.repos[ri];
        let r = &repo.releases[k];
        let bit = Ty::Release.bit();
        self.out.push(b'{');
        let mut first = true;
        for f in sel {
            if f.mask & bit == 0 {
                continue;
            }
            self.key(&mut first, f.key);
            match f.f {
                F::Typename => self.s("Release"),
                F::Id => self.s(&r.node_id),
                F::DatabaseId => self.n(r.id),
                F::Name => self.s(&r.name),
                F::TagName => self.s(&r.tag_name),
                F::Description => self.null(),
                F::CreatedAt => self.date(&r.created_at),
                F::UpdatedAt => self.date(r.published_at.as_ref().unwrap_or(&r.created_at)),
                F::PublishedAt => self.date_opt(&r.published_at),
                F::IsDraft => self.b(r.draft),
                F::IsPrerelease => self.b(r.prerelease),
                F::IsLatest => {
                    let latest = *self.latest_release.entry(ri).or_insert_with(|| {
                        repo.releases
                            .iter()
                            .filter(|x| !x.draft && !x.prerelease)
                            .max_by_key(|x| (x.created_at, x.id))
                            .map(|x| x.id)
                    });
                    self.b(latest == Some(r.id));
                }
                F::Url => {
                    let u = format!("{}/releases/tag/{}", self.urls.repo_html(repo), r.tag_name);
                    self.s(&u);
                }
                F::ResourcePath => {
                    let p = format!("/{}/{}/releases/tag/{}", repo.owner, repo.name, r.tag_name);
                    self.s(&p);
                }
                F::Author => self.w_user_only(&f.sub, Some(r.author)),
                F::Repository => self.w_repo(&f.sub, ri, None),
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    // -----------------------------------------------------------------------------------------
    // Connections

    fn order(&self, src: Source, a: &Args) -> Order {
        let gh = self.gh;
        match src {
            Source::Prs(ri) => {
                let repo = &gh.repos[ri];
                let (field, desc) = a.order.unwrap_or((OrderField::CreatedAt, false));
                let labels_given = a.labels.as_ref().is_some_and(|l| !l.is_empty());
                let items = repo
                    .pulls
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| {
                        a.pr_states.is_none_or(|bits| {
                            let b = match pr_state(p) {
                                "OPEN" => 1,
                                "CLOSED" => 2,
                                _ => 4,
                            };
                            bits & b != 0
                        })
                    })
                    .filter(|(_, p)| a.base_ref.as_ref().is_none_or(|b| &p.base_ref == b))
                    .filter(|(_, p)| a.head_ref.as_ref().is_none_or(|h| &p.head_ref == h))
                    // The dataset has no labels: a label filter matches nothing.
                    .filter(|_| !labels_given)
                    .map(|(i, p)| {
                        let key = match field {
                            OrderField::UpdatedAt => millis(&p.updated_at),
                            OrderField::Comments => p.comments.len() as i64,
                            OrderField::CreatedAt | OrderField::Name => millis(&p.created_at),
                        };
                        (key, p.number, i as u32)
                    })
                    .collect();
                keyed(items, desc)
            }
            Source::Reviews(ri, pi) => {
                let pr = &gh.repos[ri].pulls[pi];
                if a.review_states.is_none() && a.author.is_none() {
                    return Order::Pos {
                        n: pr.reviews.len(),
                        rev: false,
                    };
                }
                let items = pr
                    .reviews
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| a.review_states.as_ref().is_none_or(|s| s.contains(&r.state)))
                    .filter(|(_, r)| {
                        a.author.as_ref().is_none_or(|login| {
                            gh.users.get(r.author).is_some_and(|u| {
                                u.login.eq_ignore_ascii_case(login) || bot_slug(&u.login).eq_ignore_ascii_case(login)
                            })
                        })
                    })
                    .map(|(i, _)| (i as i64, 0, i as u32))
                    .collect();
                Order::Keyed { items, desc: false }
            }
            Source::PrCommits(ri, pi) => Order::Pos {
                n: gh.repos[ri].pulls[pi].commits.len(),
                rev: false,
            },
            Source::ReviewComments(ri, pi, k) => {
                let pr = &gh.repos[ri].pulls[pi];
                let review = pr.reviews[k].id;
                keyed(
                    pr.review_comments
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.review_id == review)
                        .map(|(i, c)| (millis(&c.created_at), c.id, i as u32))
                        .collect(),
                    false,
                )
            }
            Source::Comments(ri, pi) => {
                let pr = &gh.repos[ri].pulls[pi];
                match a.order {
                    Some((_, desc)) => keyed(
                        pr.comments
                            .iter()
                            .enumerate()
                            .map(|(i, c)| (millis(&c.updated_at), c.id, i as u32))
                            .collect(),
                        desc,
                    ),
                    None => Order::Pos {
                        n: pr.comments.len(),
                        rev: false,
                    },
                }
            }
            Source::Deployments(ri) => {
                let desc = a.order.is_some_and(|(_, d)| d);
                keyed(
                    gh.repos[ri]
                        .deployments
                        .iter()
                        .enumerate()
                        .filter(|(_, d)| a.environments.as_ref().is_none_or(|envs| envs.contains(&d.environment)))
                        .map(|(i, d)| (millis(&d.created_at), d.id, i as u32))
                        .collect(),
                    desc,
                )
            }
            Source::Statuses(ri, k) => Order::Pos {
                n: gh.repos[ri].deployments[k].statuses.len(),
                rev: true,
            },
            Source::Releases(ri) => {
                let releases = &gh.repos[ri].releases;
                let (field, desc) = a.order.unwrap_or((OrderField::CreatedAt, false));
                if field == OrderField::Name {
                    let mut idx: Vec<usize> = (0..releases.len()).collect();
                    idx.sort_by(|&x, &y| {
                        releases[x]
                            .name
                            .cmp(&releases[y].name)
                            .then(releases[x].id.cmp(&releases[y].id))
                    });
                    let items = idx
                        .iter()
                        .enumerate()
                        .map(|(rank, &i)| (rank as i64, releases[i].id, i as u32))
                        .collect();
                    return keyed(items, desc);
                }
                keyed(
                    releases
                        .iter()
                        .enumerate()
                        .map(|(i, r)| (millis(&r.created_at), r.id, i as u32))
                        .collect(),
                    desc,
                )
            }
        }
    }

    fn w_item(&mut self, sel: &[FieldSel<'_>], src: Source, i: usize) {
        match src {
            Source::Prs(ri) => self.w_pr(sel, ri, i),
            Source::Reviews(ri, pi) => self.w_review(sel, ri, pi, i),
            Source::PrCommits(ri, pi) => self.w_pr_commit(sel, ri, pi, i),
            Source::Comments(ri, pi) => self.w_comment(sel, ri, pi, i),
            Source::ReviewComments(ri, pi, _) => self.w_review_comment(sel, ri, pi, i),
            Source::Deployments(ri) => self.w_deployment(sel, ri, i),
            Source::Statuses(ri, k) => self.w_status(sel, ri, k, i),
            Source::Releases(ri) => self.w_release(sel, ri, i),
        }
    }

    fn w_conn(&mut self, f: &FieldSel<'_>, src: Source) {
        let item = match src {
            Source::Prs(_) => Item::PullRequest,
            Source::Reviews(..) => Item::Review,
            Source::PrCommits(..) => Item::PrCommit,
            Source::Comments(..) => Item::Comment,
            Source::ReviewComments(..) => Item::ReviewComment,
            Source::Deployments(_) => Item::Deployment,
            Source::Statuses(..) => Item::Status,
            Source::Releases(_) => Item::Release,
        };
        let order = self.order(src, &f.args);
        let (lo, hi) = order.window(&f.args);
        let bit = Ty::Conn(item).bit();
        self.out.push(b'{');
        let mut first = true;
        for s in &f.sub {
            if s.mask & bit == 0 {
                continue;
            }
            self.key(&mut first, s.key);
            match s.f {
                F::Typename => self.s(item.conn_name()),
                F::TotalCount => self.n(order.len() as u64),
                F::PageInfo => self.w_page_info(&s.sub, &order, lo, hi),
                F::Nodes => {
                    self.out.push(b'[');
                    for i in lo..hi {
                        if i > lo {
                            self.out.push(b',');
                        }
                        self.w_item(&s.sub, src, order.item(i));
                    }
                    self.out.push(b']');
                }
                F::Edges => {
                    let edge_bit = Ty::Edge(item).bit();
                    self.out.push(b'[');
                    for i in lo..hi {
                        if i > lo {
                            self.out.push(b',');
                        }
                        self.out.push(b'{');
                        let mut ef = true;
                        for e in &s.sub {
                            if e.mask & edge_bit == 0 {
                                continue;
                            }
                            self.key(&mut ef, e.key);
                            match e.f {
                                F::Typename => self.s(item.edge_name()),
                                F::Cursor => {
                                    let c = encode_cursor(order.cursor(i));
                                    self.s(&c);
                                }
                                F::Node => self.w_item(&e.sub, src, order.item(i)),
                                _ => self.null(),
                            }
                        }
                        self.out.push(b'}');
                    }
                    self.out.push(b']');
                }
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }

    fn w_page_info(&mut self, sel: &[FieldSel<'_>], order: &Order, lo: usize, hi: usize) {
        self.out.push(b'{');
        let mut first = true;
        for f in sel {
            self.key(&mut first, f.key);
            match f.f {
                F::Typename => self.s("PageInfo"),
                F::HasNextPage => self.b(hi < order.len()),
                F::HasPreviousPage => self.b(lo > 0),
                F::StartCursor if lo < hi => {
                    let c = encode_cursor(order.cursor(lo));
                    self.s(&c);
                }
                F::EndCursor if lo < hi => {
                    let c = encode_cursor(order.cursor(hi - 1));
                    self.s(&c);
                }
                _ => self.null(),
            }
        }
        self.out.push(b'}');
    }
}

fn base64_id(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
