//! The slice of GitLab's GraphQL schema the simulator answers, and the planner: picks the
//! operation, substitutes variables, expands fragments, checks every field and argument against
//! the schema (graphql-ruby's messages and `extensions.code`), and measures GitLab's complexity
//! and depth before anything runs.

use std::collections::HashMap;

use graphql_parser::Pos;
use graphql_parser::query::{
    Definition, Document, FragmentDefinition, OperationDefinition, Selection, SelectionSet, TypeCondition,
    Value as GValue,
};
use serde_json::{Map, Value, json};

pub type Doc<'q> = Document<'q, &'q str>;

/// GitLab's `max_page_size`: a connection answers at most this many nodes, whatever `first` asks.
pub const MAX_PAGE: usize = 100;

/// What a field returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    Scalar,
    Obj(&'static str),
    /// A connection of the named node type.
    Conn(&'static str),
    /// `nodes` of a connection.
    List(&'static str),
    /// `edges` of a connection.
    Edges(&'static str),
}

/// A type the planner walks: a named object type, or a connection / edge of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Named(&'static str),
    Conn(&'static str),
    Edge(&'static str),
}

impl Ty {
    pub fn name(self) -> String {
        match self {
            Ty::Named(n) => n.to_string(),
            Ty::Conn(n) => format!("{n}Connection"),
            Ty::Edge(n) => format!("{n}Edge"),
        }
    }

    /// Whether a fragment on `condition` applies to this type (its own name or an interface).
    fn accepts(self, condition: &str) -> bool {
        let interfaces: &[&str] = match self {
            Ty::Named("UserCore" | "MergeRequestAuthor") => &["User"],
            Ty::Named("MergeRequest") => &["Noteable", "Todoable"],
            _ => &[],
        };
        self.name() == condition || interfaces.contains(&condition)
    }
}

const PAGING: &[&str] = &["first", "after"];
const MR_ARGS: &[&str] = &[
    "first",
    "after",
    "iids",
    "state",
    "sort",
    "updatedAfter",
    "updatedBefore",
    "createdAfter",
    "createdBefore",
    "sourceBranches",
    "targetBranches",
];
const USER: &[(&str, Ret, &[&str])] = &[
    ("id", Ret::Scalar, &[]),
    ("username", Ret::Scalar, &[]),
    ("name", Ret::Scalar, &[]),
    ("webUrl", Ret::Scalar, &[]),
    ("avatarUrl", Ret::Scalar, &[]),
    ("state", Ret::Scalar, &[]),
    ("bot", Ret::Scalar, &[]),
];

/// Fields of the object types: (type, field, returns, arguments).
fn fields(ty: &str) -> &'static [(&'static str, Ret, &'static [&'static str])] {
    match ty {
        "Query" => &[
            ("project", Ret::Obj("Project"), &["fullPath"]),
            ("currentUser", Ret::Obj("UserCore"), &[]),
            ("queryComplexity", Ret::Obj("QueryComplexity"), &[]),
        ],
        "QueryComplexity" => &[("score", Ret::Scalar, &[]), ("limit", Ret::Scalar, &[])],
        "Project" => &[
            ("id", Ret::Scalar, &[]),
            ("name", Ret::Scalar, &[]),
            ("path", Ret::Scalar, &[]),
            ("fullPath", Ret::Scalar, &[]),
            ("webUrl", Ret::Scalar, &[]),
            ("archived", Ret::Scalar, &[]),
            ("mergeRequests", Ret::Conn("MergeRequest"), MR_ARGS),
            ("mergeRequest", Ret::Obj("MergeRequest"), &["iid"]),
        ],
        "MergeRequest" => &[
            ("id", Ret::Scalar, &[]),
            ("iid", Ret::Scalar, &[]),
            ("title", Ret::Scalar, &[]),
            ("description", Ret::Scalar, &[]),
            ("state", Ret::Scalar, &[]),
            ("draft", Ret::Scalar, &[]),
            ("createdAt", Ret::Scalar, &[]),
            ("updatedAt", Ret::Scalar, &[]),
            ("mergedAt", Ret::Scalar, &[]),
            ("closedAt", Ret::Scalar, &[]),
            ("sourceBranch", Ret::Scalar, &[]),
            ("targetBranch", Ret::Scalar, &[]),
            ("webUrl", Ret::Scalar, &[]),
            ("reference", Ret::Scalar, &[]),
            ("mergeCommitSha", Ret::Scalar, &[]),
            ("squashCommitSha", Ret::Scalar, &[]),
            ("diffHeadSha", Ret::Scalar, &[]),
            ("userNotesCount", Ret::Scalar, &[]),
            ("commitCount", Ret::Scalar, &[]),
            ("approved", Ret::Scalar, &[]),
            ("author", Ret::Obj("MergeRequestAuthor"), &[]),
            ("mergeUser", Ret::Obj("UserCore"), &[]),
            ("diffStatsSummary", Ret::Obj("DiffStatsSummary"), &[]),
            ("approvedBy", Ret::Conn("UserCore"), PAGING),
            ("notes", Ret::Conn("Note"), PAGING),
            ("commits", Ret::Conn("Commit"), PAGING),
        ],
        "MergeRequestAuthor" | "UserCore" => USER,
        "DiffStatsSummary" => &[
            ("additions", Ret::Scalar, &[]),
            ("deletions", Ret::Scalar, &[]),
            ("changes", Ret::Scalar, &[]),
            ("fileCount", Ret::Scalar, &[]),
        ],
        "Note" => &[
            ("id", Ret::Scalar, &[]),
            ("body", Ret::Scalar, &[]),
            ("system", Ret::Scalar, &[]),
            ("internal", Ret::Scalar, &[]),
            ("createdAt", Ret::Scalar, &[]),
            ("updatedAt", Ret::Scalar, &[]),
            ("url", Ret::Scalar, &[]),
            ("author", Ret::Obj("UserCore"), &[]),
            ("position", Ret::Obj("DiffPosition"), &[]),
        ],
        "DiffPosition" => &[
            ("filePath", Ret::Scalar, &[]),
            ("newPath", Ret::Scalar, &[]),
            ("oldPath", Ret::Scalar, &[]),
            ("positionType", Ret::Scalar, &[]),
        ],
        "Commit" => &[
            ("id", Ret::Scalar, &[]),
            ("sha", Ret::Scalar, &[]),
            ("shortId", Ret::Scalar, &[]),
            ("title", Ret::Scalar, &[]),
            ("message", Ret::Scalar, &[]),
            ("authoredDate", Ret::Scalar, &[]),
            ("committedDate", Ret::Scalar, &[]),
            ("authorName", Ret::Scalar, &[]),
            ("authorEmail", Ret::Scalar, &[]),
            ("webUrl", Ret::Scalar, &[]),
            ("author", Ret::Obj("UserCore"), &[]),
        ],
        "PageInfo" => &[
            ("hasNextPage", Ret::Scalar, &[]),
            ("hasPreviousPage", Ret::Scalar, &[]),
            ("startCursor", Ret::Scalar, &[]),
            ("endCursor", Ret::Scalar, &[]),
        ],
        _ => &[],
    }
}

const KNOWN_TYPES: &[&str] = &[
    "Query",
    "Project",
    "MergeRequest",
    "MergeRequestAuthor",
    "UserCore",
    "User",
    "Noteable",
    "Todoable",
    "DiffStatsSummary",
    "Note",
    "DiffPosition",
    "Commit",
    "PageInfo",
    "QueryComplexity",
];

fn lookup(ty: Ty, name: &str) -> Option<(Ret, &'static [&'static str])> {
    match ty {
        Ty::Named(t) => fields(t).iter().find(|(f, _, _)| *f == name).map(|(_, r, a)| (*r, *a)),
        Ty::Conn(node) => match name {
            "count" => Some((Ret::Scalar, &[])),
            "nodes" => Some((Ret::List(node), &[])),
            "edges" => Some((Ret::Edges(node), &[])),
            "pageInfo" => Some((Ret::Obj("PageInfo"), &[])),
            _ => None,
        },
        Ty::Edge(node) => match name {
            "cursor" => Some((Ret::Scalar, &[])),
            "node" => Some((Ret::Obj(node), &[])),
            _ => None,
        },
    }
}

/// One selected field, fragments expanded.
#[derive(Clone, Debug)]
pub struct Sel<'q> {
    /// Response key (alias or name).
    pub key: &'q str,
    pub name: &'q str,
    pub ret: Ret,
    pub args: Map<String, Value>,
    pub sub: Vec<Sel<'q>>,
}

fn error(message: String, pos: Pos, path: &[String], ext: Value) -> Value {
    json!({ "message": message, "locations": [{"line": pos.line, "column": pos.column}], "path": path,
            "extensions": ext })
}

/// Plans the operation; `Err` holds validation errors as GitLab (graphql-ruby) words them.
pub fn plan<'q>(
    doc: &'q Doc<'q>,
    operation_name: Option<&str>,
    variables: &Map<String, Value>,
) -> Result<Vec<Sel<'q>>, Vec<Value>> {
    let mut fragments = HashMap::new();
    let mut ops = Vec::new();
    for def in &doc.definitions {
        match def {
            Definition::Fragment(f) => {
                fragments.insert(f.name, f);
            }
            Definition::Operation(op) => ops.push(op),
        }
    }
    let name_of = |op: &OperationDefinition<'q, &'q str>| match op {
        OperationDefinition::Query(q) => q.name,
        OperationDefinition::Mutation(m) => m.name,
        OperationDefinition::Subscription(s) => s.name,
        OperationDefinition::SelectionSet(_) => None,
    };
    let op = match operation_name.filter(|n| !n.is_empty()) {
        Some(n) => ops.iter().copied().find(|op| name_of(op) == Some(n)),
        None if ops.len() == 1 => ops.first().copied(),
        None => return Err(vec![json!({"message": "An operation name is required"})]),
    };
    let Some(op) = op else {
        return Err(vec![json!({"message": format!(
            "No operation named \"{}\"", operation_name.unwrap_or_default())})]);
    };
    let (label, defs, set) = match op {
        OperationDefinition::SelectionSet(s) => ("query".to_string(), &[][..], s),
        OperationDefinition::Query(q) => (
            q.name.map_or("query".into(), |n| format!("query {n}")),
            &q.variable_definitions[..],
            &q.selection_set,
        ),
        OperationDefinition::Mutation(m) => {
            return Err(vec![error(
                "Field 'mergeRequests' doesn't exist on type 'Mutation'".into(),
                m.position,
                &["mutation".into()],
                json!({"code": "undefinedField", "typeName": "Mutation"}),
            )]);
        }
        OperationDefinition::Subscription(s) => {
            return Err(vec![error(
                "Subscriptions are not supported over HTTP".into(),
                s.position,
                &[],
                json!({}),
            )]);
        }
    };
    let mut vars = Map::new();
    let mut errors = Vec::new();
    for d in defs {
        let given = variables.get(d.name).cloned();
        let value = given.or_else(|| d.default_value.as_ref().map(|v| literal(v, &Map::new())));
        let required = matches!(d.var_type, graphql_parser::query::Type::NonNullType(_));
        if required && value.as_ref().is_none_or(Value::is_null) {
            errors.push(json!({
                "message": format!("Variable ${} of type {} was provided invalid value", d.name, d.var_type),
                "locations": [{"line": d.position.line, "column": d.position.column}],
                "extensions": {"value": null, "problems": [{"path": [], "explanation": "Expected value to not be null"}]},
            }));
        }
        if let Some(v) = value {
            vars.insert(d.name.to_string(), v);
        }
    }
    let mut p = Planner {
        fragments,
        vars,
        errors,
        path: vec![label],
        spreading: Vec::new(),
    };
    let mut out = Vec::new();
    p.select(Ty::Named("Query"), set, &mut out);
    if p.errors.is_empty() { Ok(out) } else { Err(p.errors) }
}

/// A literal with variables substituted (unset ones become null).
fn literal<'q>(v: &GValue<'q, &'q str>, vars: &Map<String, Value>) -> Value {
    match v {
        GValue::Variable(n) => vars.get(*n).cloned().unwrap_or(Value::Null),
        GValue::Int(n) => json!(n.as_i64()),
        GValue::Float(f) => json!(f),
        GValue::String(s) => Value::String(s.clone()),
        GValue::Boolean(b) => Value::Bool(*b),
        GValue::Null => Value::Null,
        GValue::Enum(e) => Value::String((*e).to_string()),
        GValue::List(l) => Value::Array(l.iter().map(|i| literal(i, vars)).collect()),
        GValue::Object(o) => Value::Object(o.iter().map(|(k, v)| ((*k).to_string(), literal(v, vars))).collect()),
    }
}

struct Planner<'q> {
    fragments: HashMap<&'q str, &'q FragmentDefinition<'q, &'q str>>,
    vars: Map<String, Value>,
    errors: Vec<Value>,
    path: Vec<String>,
    spreading: Vec<&'q str>,
}

impl<'q> Planner<'q> {
    fn skipped(&self, directives: &[graphql_parser::query::Directive<'q, &'q str>]) -> bool {
        directives.iter().any(|d| {
            let cond = d
                .arguments
                .iter()
                .find(|(n, _)| *n == "if")
                .map(|(_, v)| literal(v, &self.vars));
            matches!(
                (d.name, cond),
                ("skip", Some(Value::Bool(true))) | ("include", Some(Value::Bool(false)))
            )
        })
    }

    fn select(&mut self, ty: Ty, set: &'q SelectionSet<'q, &'q str>, out: &mut Vec<Sel<'q>>) {
        for item in &set.items {
            match item {
                Selection::Field(f) if !self.skipped(&f.directives) => {
                    if let Some(sel) = self.field(ty, f) {
                        merge(out, sel);
                    }
                }
                Selection::InlineFragment(frag) if !self.skipped(&frag.directives) => {
                    if let Some(TypeCondition::On(cond)) = &frag.type_condition
                        && !self.condition_holds(ty, cond, frag.position)
                    {
                        continue;
                    }
                    self.select(ty, &frag.selection_set, out);
                }
                Selection::FragmentSpread(spread) if !self.skipped(&spread.directives) => {
                    let name = spread.fragment_name;
                    let Some(def) = self.fragments.get(name).copied() else {
                        self.errors.push(error(
                            format!("Fragment {name} was used, but not defined"),
                            spread.position,
                            &self.path,
                            json!({"code": "useAndDefineFragment", "fragmentName": name}),
                        ));
                        continue;
                    };
                    if self.spreading.contains(&name) {
                        self.errors.push(error(
                            format!("Fragment {name} contains an infinite loop"),
                            spread.position,
                            &self.path,
                            json!({"code": "infiniteLoop", "fragmentName": name}),
                        ));
                        continue;
                    }
                    let TypeCondition::On(cond) = &def.type_condition;
                    if !self.condition_holds(ty, cond, spread.position) {
                        continue;
                    }
                    self.spreading.push(name);
                    self.select(ty, &def.selection_set, out);
                    self.spreading.pop();
                }
                _ => {}
            }
        }
    }

    fn condition_holds(&mut self, ty: Ty, cond: &str, pos: Pos) -> bool {
        let known = KNOWN_TYPES.contains(&cond) || cond.ends_with("Connection") || cond.ends_with("Edge");
        if !known {
            self.errors.push(error(
                format!("No such type {cond}, so it can't be a fragment condition"),
                pos,
                &self.path,
                json!({"code": "undefinedType", "typeName": cond}),
            ));
            return false;
        }
        if !ty.accepts(cond) {
            self.errors.push(error(
                format!("Fragment on {cond} can't be spread inside {}", ty.name()),
                pos,
                &self.path,
                json!({"code": "fragmentSpreadTypeMismatch", "typeName": cond, "parentName": ty.name()}),
            ));
            return false;
        }
        true
    }

    fn field(&mut self, ty: Ty, f: &'q graphql_parser::query::Field<'q, &'q str>) -> Option<Sel<'q>> {
        let key = f.alias.unwrap_or(f.name);
        if f.name == "__typename" {
            return Some(Sel {
                key,
                name: f.name,
                ret: Ret::Scalar,
                args: Map::new(),
                sub: Vec::new(),
            });
        }
        self.path.push(key.to_string());
        let planned = self.checked_field(ty, f, key);
        self.path.pop();
        planned
    }

    fn checked_field(
        &mut self,
        ty: Ty,
        f: &'q graphql_parser::query::Field<'q, &'q str>,
        key: &'q str,
    ) -> Option<Sel<'q>> {
        let Some((ret, accepted)) = lookup(ty, f.name) else {
            self.errors.push(error(
                format!("Field '{}' doesn't exist on type '{}'", f.name, ty.name()),
                f.position,
                &self.path,
                json!({"code": "undefinedField", "typeName": ty.name(), "fieldName": f.name}),
            ));
            return None;
        };
        let mut args = Map::new();
        for (name, value) in &f.arguments {
            if !accepted.contains(name) {
                self.errors.push(error(
                    format!("Field '{}' doesn't accept argument '{name}'", f.name),
                    f.position,
                    &self.path,
                    json!({"code": "argumentNotAccepted", "name": f.name, "typeName": "Field", "argumentName": name}),
                ));
                continue;
            }
            args.insert((*name).to_string(), literal(value, &self.vars));
        }
        let sub_ty = match ret {
            Ret::Scalar => None,
            Ret::Obj(t) | Ret::List(t) => Some(Ty::Named(t)),
            Ret::Conn(t) => Some(Ty::Conn(t)),
            Ret::Edges(t) => Some(Ty::Edge(t)),
        };
        let has_selection = !f.selection_set.items.is_empty();
        let mut sub = Vec::new();
        match (sub_ty, has_selection) {
            (None, true) => {
                self.errors.push(error(
                    format!(
                        "Selections can't be made on scalars (field '{}' returns a scalar but has selections)",
                        f.name
                    ),
                    f.position,
                    &self.path,
                    json!({"code": "selectionMismatch", "nodeName": f.name}),
                ));
                return None;
            }
            (Some(t), false) => {
                self.errors.push(error(
                    format!(
                        "Field must have selections (field '{}' returns {} but has no selections. Did you mean '{} {{ ... }}'?)",
                        f.name,
                        t.name(),
                        f.name
                    ),
                    f.position,
                    &self.path,
                    json!({"code": "selectionMismatch", "nodeName": f.name, "typeName": t.name()}),
                ));
                return None;
            }
            (Some(t), true) => self.select(t, &f.selection_set, &mut sub),
            (None, false) => {}
        }
        Some(Sel {
            key,
            name: f.name,
            ret,
            args,
            sub,
        })
    }
}

/// Fields asked for twice under one key (fragments) are answered once, their selections merged.
fn merge<'q>(out: &mut Vec<Sel<'q>>, sel: Sel<'q>) {
    match out
        .iter_mut()
        .find(|s| s.key == sel.key && s.name == sel.name && s.args == sel.args)
    {
        Some(existing) => {
            for s in sel.sub {
                merge(&mut existing.sub, s);
            }
        }
        None => out.push(sel),
    }
}

/// GitLab's complexity (`Types::BaseField`): a field costs 1 plus its selections; a connection
/// costs its selections plus 1 (plus 1 with `sort`), times `1 + 0.01 × page size` (page size:
/// `first`, at most 100, else 100; no growth when `iids` picks the items).
pub fn complexity(sels: &[Sel<'_>]) -> u32 {
    sels.iter().map(field_complexity).sum()
}

fn field_complexity(s: &Sel<'_>) -> u32 {
    let children = complexity(&s.sub);
    if let Ret::Conn(_) = s.ret {
        let own = children + 1 + u32::from(s.args.contains_key("sort"));
        let limit = page_size(&s.args) as f64;
        let multiplier = if s.args.contains_key("iids") { 0.0 } else { 0.01 * limit };
        (own as f64 * (1.0 + multiplier)) as u32
    } else {
        1 + children
    }
}

/// The nesting depth of the deepest field (graphql-ruby's `max_depth` counts fields).
pub fn depth(sels: &[Sel<'_>]) -> usize {
    sels.iter().map(|s| 1 + depth(&s.sub)).max().unwrap_or(0)
}

/// `first`, capped at [`MAX_PAGE`]; [`MAX_PAGE`] when absent.
pub fn page_size(args: &Map<String, Value>) -> usize {
    args.get("first")
        .and_then(Value::as_i64)
        .map_or(MAX_PAGE, |n| (n.max(0) as usize).min(MAX_PAGE))
}
