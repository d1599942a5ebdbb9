//! From the parsed document to an executable plan: picks the operation, coerces variables,
//! expands fragments (named and inline, with type conditions), evaluates `@skip`/`@include`,
//! checks every field and argument against [`schema`](super::schema), merges fields of the
//! same response key, and decodes cursors. Errors come in GitHub's two flavours:
//! validation errors (`extensions.code`, no `data`) and resolver errors found up front
//! (`type`: `MISSING_PAGINATION_BOUNDARIES`, `EXCESSIVE_PAGINATION`, `INVALID_CURSOR_ARGUMENTS`),
//! which null their top-level field.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use graphql_parser::Pos;
use graphql_parser::query::{
    Definition, Directive, Document, Field, OperationDefinition, Selection, SelectionSet, Type, TypeCondition,
    Value as GValue,
};
use serde_json::{Map, Value, json};

use super::schema::{Arg, ArgTy, F, FieldDef, Ret, Ty, field};

pub type Doc<'q> = Document<'q, &'q str>;

/// A position in an ordered connection: the sort key and a tie-breaker (for connections in
/// natural order: the index and 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CursorPos {
    pub key: i64,
    pub tie: u64,
}

const CURSOR_PREFIX: &str = "cursor:v2:";

pub fn encode_cursor(c: CursorPos) -> String {
    BASE64.encode(format!("{CURSOR_PREFIX}{}:{}", c.key, c.tie))
}

pub fn decode_cursor(s: &str) -> Option<CursorPos> {
    let raw = BASE64.decode(s.trim()).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    let (key, tie) = text.strip_prefix(CURSOR_PREFIX)?.split_once(':')?;
    Some(CursorPos {
        key: key.parse().ok()?,
        tie: tie.parse().ok()?,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderField {
    CreatedAt,
    UpdatedAt,
    Comments,
    Name,
}

/// Arguments of one field, coerced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Args {
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub after: Option<CursorPos>,
    pub before: Option<CursorPos>,
    /// Field and descending?
    pub order: Option<(OrderField, bool)>,
    /// Bits: OPEN 1, CLOSED 2, MERGED 4.
    pub pr_states: Option<u8>,
    pub review_states: Option<Vec<String>>,
    pub environments: Option<Vec<String>>,
    pub labels: Option<Vec<String>>,
    pub base_ref: Option<String>,
    pub head_ref: Option<String>,
    pub author: Option<String>,
    pub owner: Option<String>,
    pub name: Option<String>,
    pub id: Option<String>,
    pub ids: Option<Vec<String>>,
    pub number: Option<i64>,
    pub login: Option<String>,
    pub dry_run: bool,
}

/// One selected field, after fragment expansion and merging.
#[derive(Clone, Debug)]
pub struct FieldSel<'q> {
    /// Response key (alias or name).
    pub key: &'q str,
    pub name: &'q str,
    pub f: F,
    pub ret: Ret,
    /// Concrete types of the parent this applies to (type conditions of enclosing fragments).
    pub mask: u64,
    pub args: Args,
    pub sub: Vec<FieldSel<'q>>,
    pub pos: Pos,
}

pub struct Plan<'q> {
    pub root: Vec<FieldSel<'q>>,
    /// Resolver errors known before execution.
    pub field_errors: Vec<Value>,
    /// Top-level response keys that resolve to `null` because of those errors.
    pub failed: HashSet<&'q str>,
    pub dry_run: bool,
}

pub const MAX_PAGE: i64 = 100;

pub fn location(pos: Pos) -> Value {
    json!([{"line": pos.line, "column": pos.column}])
}

fn validation_error(message: String, pos: Option<Pos>, path: &[String], ext: Value) -> Value {
    let mut m = Map::new();
    m.insert("path".into(), json!(path));
    m.insert("extensions".into(), ext);
    if let Some(p) = pos {
        m.insert("locations".into(), location(p));
    }
    m.insert("message".into(), Value::String(message));
    Value::Object(m)
}

/// Plans `doc` for `operation_name` with `variables`; `Err` holds validation errors.
pub fn plan<'q>(
    doc: &'q Doc<'q>,
    operation_name: Option<&str>,
    variables: Option<&Map<String, Value>>,
) -> Result<Plan<'q>, Vec<Value>> {
    let mut fragments = HashMap::new();
    let mut ops = Vec::new();
    for def in &doc.definitions {
        match def {
            Definition::Fragment(f) => {
                if fragments.insert(f.name, f).is_some() {
                    return Err(vec![validation_error(
                        format!("Fragment name \"{}\" must be unique", f.name),
                        Some(f.position),
                        &[],
                        json!({"code": "fragmentNamesAreUnique", "fragmentName": f.name}),
                    )]);
                }
            }
            Definition::Operation(op) => ops.push(op),
        }
    }
    let op_name = |op: &OperationDefinition<'q, &'q str>| match op {
        OperationDefinition::SelectionSet(_) => None,
        OperationDefinition::Query(q) => q.name,
        OperationDefinition::Mutation(m) => m.name,
        OperationDefinition::Subscription(s) => s.name,
    };
    let op = match operation_name.filter(|n| !n.is_empty()) {
        Some(name) => ops.iter().copied().find(|op| op_name(op) == Some(name)),
        None if ops.len() == 1 => ops.first().copied(),
        None => {
            return Err(vec![json!({"message": "An operation name is required"})]);
        }
    };
    let Some(op) = op else {
        return Err(vec![json!({
            "message": format!("No operation named \"{}\"", operation_name.unwrap_or_default())
        })]);
    };
    let (kind, name, var_defs, selection, root_ty) = match op {
        OperationDefinition::SelectionSet(s) => ("query", None, &[][..], s, Ty::Query),
        OperationDefinition::Query(q) => (
            "query",
            q.name,
            &q.variable_definitions[..],
            &q.selection_set,
            Ty::Query,
        ),
        OperationDefinition::Mutation(m) => (
            "mutation",
            m.name,
            &m.variable_definitions[..],
            &m.selection_set,
            Ty::Query,
        ),
        OperationDefinition::Subscription(s) => {
            return Err(vec![validation_error(
                "Subscriptions are not supported".into(),
                Some(s.position),
                &[],
                json!({"code": "subscriptionsNotSupported"}),
            )]);
        }
    };
    let label = match name {
        Some(n) => format!("{kind} {n}"),
        None => kind.to_string(),
    };
    let mut p = Planner {
        fragments,
        vars: HashMap::new(),
        declared: HashSet::new(),
        used_vars: HashSet::new(),
        used_fragments: HashSet::new(),
        errors: Vec::new(),
        field_errors: Vec::new(),
        failed: HashSet::new(),
        vpath: vec![label.clone()],
        rpath: Vec::new(),
        frag_stack: Vec::new(),
        top_key: None,
        dry_run: false,
        mutation: kind == "mutation",
        label,
    };
    p.coerce_variables(var_defs, variables);
    let mut root = Vec::new();
    p.select(root_ty, root_ty.possible(), selection, &mut root, true);
    for (name, def) in &p.fragments {
        if !p.used_fragments.contains(name) {
            p.errors.push(validation_error(
                format!("Fragment {name} was defined, but not used"),
                Some(def.position),
                &[format!("fragment {name}")],
                json!({"code": "useAndDefineFragment", "fragmentName": name}),
            ));
        }
    }
    for d in var_defs {
        if !p.used_vars.contains(d.name) {
            p.errors.push(validation_error(
                format!("Variable ${} is declared by {} but not used", d.name, p.op_display()),
                Some(d.position),
                &[p.label.clone()],
                json!({"code": "variableNotUsed", "variableName": d.name}),
            ));
        }
    }
    if !p.errors.is_empty() {
        let mut seen = HashSet::new();
        p.errors.retain(|e| seen.insert(e.to_string()));
        return Err(p.errors);
    }
    Ok(Plan {
        root,
        field_errors: p.field_errors,
        failed: p.failed,
        dry_run: p.dry_run,
    })
}

struct Planner<'q> {
    fragments: HashMap<&'q str, &'q graphql_parser::query::FragmentDefinition<'q, &'q str>>,
    vars: HashMap<&'q str, Value>,
    declared: HashSet<&'q str>,
    used_vars: HashSet<&'q str>,
    used_fragments: HashSet<&'q str>,
    errors: Vec<Value>,
    field_errors: Vec<Value>,
    failed: HashSet<&'q str>,
    /// Path for validation errors (`query Name`, fields, `... on T`, `fragment F`).
    vpath: Vec<String>,
    /// Response keys from the root (resolver errors).
    rpath: Vec<&'q str>,
    frag_stack: Vec<&'q str>,
    top_key: Option<&'q str>,
    dry_run: bool,
    mutation: bool,
    label: String,
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

const SCALARS: &[&str] = &[
    "Int",
    "Float",
    "String",
    "ID",
    "Boolean",
    "DateTime",
    "URI",
    "GitObjectID",
    "BigInt",
    "GitTimestamp",
    "HTML",
];
const ENUMS: &[(&str, &[&str])] = &[
    ("PullRequestState", &["OPEN", "CLOSED", "MERGED"]),
    (
        "PullRequestReviewState",
        &["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"],
    ),
    ("OrderDirection", &["ASC", "DESC"]),
    ("IssueOrderField", &["COMMENTS", "CREATED_AT", "UPDATED_AT"]),
    ("IssueCommentOrderField", &["UPDATED_AT"]),
    ("DeploymentOrderField", &["CREATED_AT"]),
    ("ReleaseOrderField", &["CREATED_AT", "NAME"]),
];
const INPUTS: &[&str] = &["IssueOrder", "IssueCommentOrder", "DeploymentOrder", "ReleaseOrder"];

fn type_text<'a>(t: &Type<'a, &'a str>) -> String {
    match t {
        Type::NamedType(n) => (*n).to_string(),
        Type::ListType(i) => format!("[{}]", type_text(i)),
        Type::NonNullType(i) => format!("{}!", type_text(i)),
    }
}

fn base_type<'a>(t: &Type<'a, &'a str>) -> &'a str {
    match t {
        Type::NamedType(n) => n,
        Type::ListType(i) | Type::NonNullType(i) => base_type(i),
    }
}

/// Checks a variable value against its declared type; `Err` explains the problem.
fn check_value<'a>(t: &Type<'a, &'a str>, v: &Value) -> Result<(), String> {
    match t {
        Type::NonNullType(inner) => {
            if v.is_null() {
                Err("Expected value to not be null".into())
            } else {
                check_value(inner, v)
            }
        }
        Type::ListType(inner) => match v {
            Value::Null => Ok(()),
            Value::Array(items) => items.iter().try_for_each(|i| check_value(inner, i)),
            other => check_value(inner, other),
        },
        Type::NamedType(n) => {
            if v.is_null() {
                return Ok(());
            }
            let ok = match *n {
                "Int" => v.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
                "Float" => v.is_number(),
                "Boolean" => v.is_boolean(),
                "ID" => v.is_string() || v.is_i64() || v.is_u64(),
                s if SCALARS.contains(&s) => v.is_string(),
                s if INPUTS.contains(&s) => v.is_object(),
                s => match ENUMS.iter().find(|(e, _)| *e == s) {
                    Some((_, values)) => v.as_str().is_some_and(|x| values.contains(&x)),
                    None => false,
                },
            };
            if ok {
                Ok(())
            } else {
                Err(format!("Could not coerce value {} to {n}", value_text(v)))
            }
        }
    }
}

impl<'q> Planner<'q> {
    fn op_display(&self) -> String {
        match self.label.split_once(' ') {
            Some((_, name)) => name.to_string(),
            None => "anonymous query".into(),
        }
    }

    fn coerce_variables(
        &mut self,
        defs: &'q [graphql_parser::query::VariableDefinition<'q, &'q str>],
        given: Option<&Map<String, Value>>,
    ) {
        for d in defs {
            self.declared.insert(d.name);
            let base = base_type(&d.var_type);
            if !SCALARS.contains(&base) && !INPUTS.contains(&base) && !ENUMS.iter().any(|(e, _)| *e == base) {
                self.errors.push(validation_error(
                    format!("{base} isn't a defined input type (on ${})", d.name),
                    Some(d.position),
                    std::slice::from_ref(&self.label),
                    json!({"code": "variableRequiresValidType", "typeName": base, "variableName": d.name}),
                ));
                continue;
            }
            let value = match given.and_then(|g| g.get(d.name)) {
                Some(v) => Some(v.clone()),
                None => d.default_value.as_ref().and_then(|v| self.literal(v)),
            };
            let checked = match &value {
                Some(v) => check_value(&d.var_type, v),
                None => check_value(&d.var_type, &Value::Null),
            };
            if let Err(explanation) = checked {
                self.errors.push(json!({
                    "extensions": {
                        "value": value.clone().unwrap_or(Value::Null),
                        "problems": [{"path": [], "explanation": explanation}],
                    },
                    "locations": location(d.position),
                    "message": format!(
                        "Variable ${} of type {} was provided invalid value",
                        d.name,
                        type_text(&d.var_type)
                    ),
                }));
                continue;
            }
            if let Some(v) = value {
                self.vars.insert(d.name, v);
            }
        }
    }

    /// A literal without variables (default values).
    fn literal(&self, v: &GValue<'q, &'q str>) -> Option<Value> {
        Some(match v {
            GValue::Variable(_) => return None,
            GValue::Int(n) => json!(n.as_i64()),
            GValue::Float(f) => json!(f),
            GValue::String(s) => Value::String(s.clone()),
            GValue::Boolean(b) => Value::Bool(*b),
            GValue::Null => Value::Null,
            GValue::Enum(e) => Value::String((*e).to_string()),
            GValue::List(l) => Value::Array(l.iter().map(|i| self.literal(i).unwrap_or(Value::Null)).collect()),
            GValue::Object(o) => Value::Object(
                o.iter()
                    .filter_map(|(k, v)| self.literal(v).map(|v| ((*k).to_string(), v)))
                    .collect(),
            ),
        })
    }

    /// An argument value with variables substituted; `None` when it is an unset variable.
    fn resolve(&mut self, v: &GValue<'q, &'q str>, pos: Pos) -> Option<Value> {
        Some(match v {
            GValue::Variable(name) => {
                self.used_vars.insert(name);
                if !self.declared.contains(name) {
                    self.errors.push(validation_error(
                        format!("Variable ${name} is used by {} but not declared", self.op_display()),
                        Some(pos),
                        &self.vpath,
                        json!({"code": "variableNotDefined", "variableName": name}),
                    ));
                    return None;
                }
                return self.vars.get(name).cloned();
            }
            GValue::List(l) => Value::Array(l.iter().map(|i| self.resolve(i, pos).unwrap_or(Value::Null)).collect()),
            GValue::Object(o) => {
                let mut m = Map::new();
                for (k, v) in o {
                    if let Some(v) = self.resolve(v, pos) {
                        m.insert((*k).to_string(), v);
                    }
                }
                Value::Object(m)
            }
            other => self.literal(other)?,
        })
    }

    fn directives_allow(&mut self, directives: &'q [Directive<'q, &'q str>]) -> bool {
        let mut include = true;
        for d in directives {
            let cond = d
                .arguments
                .iter()
                .find(|(n, _)| *n == "if")
                .and_then(|(_, v)| self.resolve(v, d.position));
            match (d.name, cond) {
                ("skip", Some(Value::Bool(b))) => include &= !b,
                ("include", Some(Value::Bool(b))) => include &= b,
                ("skip" | "include", _) => self.errors.push(validation_error(
                    format!("Directive '{}' is missing required arguments: if", d.name),
                    Some(d.position),
                    &self.vpath,
                    json!({"code": "missingRequiredArguments", "className": "Directive", "name": d.name, "arguments": "if"}),
                )),
                (other, _) => self.errors.push(validation_error(
                    format!("Directive @{other} is not defined"),
                    Some(d.position),
                    &self.vpath,
                    json!({"code": "undefinedDirective", "directiveName": other}),
                )),
            }
        }
        include
    }

    /// Plans the selection set `set` on `parent` (restricted to the concrete types `mask`)
    /// into `out`.
    fn select(
        &mut self,
        parent: Ty,
        mask: u64,
        set: &'q SelectionSet<'q, &'q str>,
        out: &mut Vec<FieldSel<'q>>,
        root: bool,
    ) {
        for item in &set.items {
            match item {
                Selection::Field(field) => {
                    if !self.directives_allow(&field.directives) {
                        continue;
                    }
                    let key = field.alias.unwrap_or(field.name);
                    if root {
                        self.top_key = Some(key);
                    }
                    if let Some(fs) = self.field(parent, mask, field) {
                        self.merge(out, fs);
                    }
                }
                Selection::InlineFragment(frag) => {
                    if !self.directives_allow(&frag.directives) {
                        continue;
                    }
                    let (ty, narrowed) = match &frag.type_condition {
                        None => (parent, mask),
                        Some(TypeCondition::On(name)) => match self.condition(parent, name, None, frag.position) {
                            Some(t) => (t, mask & t.possible()),
                            None => continue,
                        },
                    };
                    let seg = match &frag.type_condition {
                        Some(TypeCondition::On(n)) => format!("... on {n}"),
                        None => "...".into(),
                    };
                    self.vpath.push(seg);
                    self.select(ty, narrowed, &frag.selection_set, out, root);
                    self.vpath.pop();
                }
                Selection::FragmentSpread(spread) => {
                    if !self.directives_allow(&spread.directives) {
                        continue;
                    }
                    let name = spread.fragment_name;
                    self.used_fragments.insert(name);
                    let Some(def) = self.fragments.get(name).copied() else {
                        self.errors.push(validation_error(
                            format!("Fragment {name} was used, but not defined"),
                            Some(spread.position),
                            &self.vpath,
                            json!({"code": "useAndDefineFragment", "fragmentName": name}),
                        ));
                        continue;
                    };
                    if self.frag_stack.contains(&name) {
                        self.errors.push(validation_error(
                            format!("Fragment {name} contains an infinite loop"),
                            Some(spread.position),
                            &self.vpath,
                            json!({"code": "infiniteLoop", "fragmentName": name}),
                        ));
                        continue;
                    }
                    let TypeCondition::On(cond) = &def.type_condition;
                    let Some(ty) = self.condition(parent, cond, Some(name), spread.position) else {
                        continue;
                    };
                    let saved = std::mem::replace(&mut self.vpath, vec![format!("fragment {name}")]);
                    self.frag_stack.push(name);
                    self.select(ty, mask & ty.possible(), &def.selection_set, out, root);
                    self.frag_stack.pop();
                    self.vpath = saved;
                }
            }
        }
    }

    /// The type of a fragment condition, if it exists and can apply inside `parent`.
    fn condition(&mut self, parent: Ty, name: &str, fragment: Option<&str>, pos: Pos) -> Option<Ty> {
        let Some(ty) = Ty::from_name(name) else {
            self.errors.push(validation_error(
                format!("No such type {name}, so it can't be a fragment condition"),
                Some(pos),
                &self.vpath,
                json!({"code": "undefinedType", "typeName": name}),
            ));
            return None;
        };
        if ty.possible() & parent.possible() == 0 {
            let what = match fragment {
                Some(f) => format!("Fragment {f} on {name}"),
                None => format!("Fragment on {name}"),
            };
            self.errors.push(validation_error(
                format!("{what} can't be spread inside {}", parent.name()),
                Some(pos),
                &self.vpath,
                json!({"code": "fragmentSpreadTypeMismatch", "typeName": name, "parentName": parent.name()}),
            ));
            return None;
        }
        Some(ty)
    }

    fn merge(&mut self, out: &mut Vec<FieldSel<'q>>, f: FieldSel<'q>) {
        let Some(existing) = out.iter_mut().find(|e| e.key == f.key) else {
            out.push(f);
            return;
        };
        if existing.name != f.name || existing.args != f.args {
            let message = if existing.name != f.name {
                format!(
                    "Field '{}' has a field conflict: {} or {}?",
                    f.key, existing.name, f.name
                )
            } else {
                format!(
                    "Field '{}' has an argument conflict: {:?} or {:?}?",
                    f.key, existing.args, f.args
                )
            };
            self.errors.push(validation_error(
                message,
                Some(f.pos),
                &self.vpath,
                json!({"code": "fieldConflict", "fieldName": f.key}),
            ));
            return;
        }
        existing.mask |= f.mask;
        let mut sub = std::mem::take(&mut existing.sub);
        for s in f.sub {
            self.merge(&mut sub, s);
        }
        // `existing` was borrowed from `out`; find it again to put the merged children back.
        if let Some(e) = out.iter_mut().find(|e| e.key == f.key) {
            e.sub = sub;
        }
    }

    fn field(&mut self, parent: Ty, mask: u64, field: &'q Field<'q, &'q str>) -> Option<FieldSel<'q>> {
        let key = field.alias.unwrap_or(field.name);
        let name = field.name;
        self.vpath.push(name.to_string());
        let out = self.field_inner(parent, mask, field, key, name);
        self.vpath.pop();
        out
    }

    fn field_inner(
        &mut self,
        parent: Ty,
        mask: u64,
        field: &'q Field<'q, &'q str>,
        key: &'q str,
        name: &'q str,
    ) -> Option<FieldSel<'q>> {
        let def = if self.mutation && name != "__typename" {
            None
        } else {
            schema_field(parent, name)
        };
        let Some(def) = def else {
            let type_name = if self.mutation { "Mutation" } else { parent.name() };
            self.errors.push(validation_error(
                format!("Field '{name}' doesn't exist on type '{type_name}'"),
                Some(field.position),
                &self.vpath,
                json!({"code": "undefinedField", "typeName": type_name, "fieldName": name}),
            ));
            return None;
        };
        let has_sel = !field.selection_set.items.is_empty();
        match (def.ret.object(), has_sel) {
            (None, true) => {
                let names: Vec<&str> = field
                    .selection_set
                    .items
                    .iter()
                    .filter_map(|s| match s {
                        Selection::Field(f) => Some(f.name),
                        _ => None,
                    })
                    .collect();
                self.errors.push(validation_error(
                    format!(
                        "Selections can't be made on scalars (field '{name}' returns {} but has selections [{}])",
                        def.ret.type_name(),
                        names.join(", ")
                    ),
                    Some(field.position),
                    &self.vpath,
                    json!({"code": "selectionMismatch", "nodeName": format!("field '{name}'"), "typeName": def.ret.type_name()}),
                ));
                return None;
            }
            (Some(t), false) => {
                self.errors.push(validation_error(
                    format!(
                        "Field must have selections (field '{name}' returns {} but has no selections. Did you mean '{name} {{ ... }}'?)",
                        t.name()
                    ),
                    Some(field.position),
                    &self.vpath,
                    json!({"code": "selectionMismatch", "nodeName": format!("field '{name}'"), "typeName": t.name()}),
                ));
                return None;
            }
            _ => {}
        }
        self.rpath.push(key);
        let Some(args) = self.args(&def, field) else {
            self.rpath.pop();
            return None;
        };
        if def.f == F::RateLimit && args.dry_run {
            self.dry_run = true;
        }
        let mut sub = Vec::new();
        if let Some(t) = def.ret.object() {
            self.select(t, t.possible(), &field.selection_set, &mut sub, false);
        }
        if let Ret::Obj(Ty::Conn(_)) = def.ret {
            self.check_pagination(name, &args, &sub, field.position);
        }
        self.rpath.pop();
        Some(FieldSel {
            key,
            name,
            f: def.f,
            ret: def.ret,
            mask,
            args,
            sub,
            pos: field.position,
        })
    }

    fn field_error(&mut self, kind: &str, message: String, pos: Pos) {
        let path: Vec<&str> = self.rpath.clone();
        if path.is_empty() {
            return;
        }
        if let Some(top) = self.top_key {
            self.failed.insert(top);
        }
        self.field_errors.push(json!({
            "type": kind,
            "path": path,
            "locations": location(pos),
            "message": message,
        }));
    }

    fn check_pagination(&mut self, name: &str, args: &Args, sub: &[FieldSel<'q>], pos: Pos) {
        let lists = sub.iter().any(|s| matches!(s.f, F::Nodes | F::Edges));
        if args.first.is_none() && args.last.is_none() {
            if lists {
                self.field_error(
                    "MISSING_PAGINATION_BOUNDARIES",
                    format!("You must provide a `first` or `last` value to properly paginate the `{name}` connection."),
                    pos,
                );
            }
            return;
        }
        for (arg, v) in [("first", args.first), ("last", args.last)] {
            match v {
                Some(n) if n > MAX_PAGE => self.field_error(
                    "EXCESSIVE_PAGINATION",
                    format!("Requesting {n} records on the `{name}` connection exceeds the `{arg}` limit of {MAX_PAGE} records."),
                    pos,
                ),
                Some(n) if n < 0 => self.field_error(
                    "INVALID_PAGINATION",
                    format!("`{arg}` on the `{name}` connection cannot be less than zero."),
                    pos,
                ),
                _ => {}
            }
        }
    }

    fn arg_error(&mut self, field: &str, arg: &Arg, v: &Value, pos: Pos) {
        self.errors.push(validation_error(
            format!(
                "Argument '{}' on Field '{field}' has an invalid value ({}). Expected type '{}'.",
                arg.name,
                value_text(v),
                arg.ty.name()
            ),
            Some(pos),
            &self.vpath,
            json!({"code": "argumentLiteralsIncompatible", "typeName": "Field", "argumentName": arg.name}),
        ));
    }

    fn args(&mut self, def: &FieldDef, field: &'q Field<'q, &'q str>) -> Option<Args> {
        let mut args = Args::default();
        let mut ok = true;
        let mut seen = HashSet::new();
        let name = field.name;
        for (arg_name, raw) in &field.arguments {
            let Some(arg) = def.args.iter().find(|a| a.name == *arg_name) else {
                self.errors.push(validation_error(
                    format!("Field '{name}' doesn't accept argument '{arg_name}'"),
                    Some(field.position),
                    &self.vpath,
                    json!({"code": "argumentNotAccepted", "name": name, "typeName": "Field", "argumentName": arg_name}),
                ));
                ok = false;
                continue;
            };
            if !seen.insert(*arg_name) {
                self.errors.push(validation_error(
                    format!("There can be only one argument named \"{arg_name}\""),
                    Some(field.position),
                    &self.vpath,
                    json!({"code": "argumentNamesAreUnique", "name": arg_name}),
                ));
                ok = false;
                continue;
            }
            let Some(v) = self.resolve(raw, field.position) else {
                continue;
            };
            if v.is_null() {
                continue;
            }
            if !self.set_arg(&mut args, arg, &v, field.position) {
                self.arg_error(name, arg, &v, field.position);
                ok = false;
            }
        }
        let missing: Vec<&str> = def
            .args
            .iter()
            .filter(|a| a.required && !arg_present(&args, a.name))
            .map(|a| a.name)
            .collect();
        if !missing.is_empty() {
            let list = missing.join(", ");
            self.errors.push(validation_error(
                format!("Field '{name}' is missing required arguments: {list}"),
                Some(field.position),
                &self.vpath,
                json!({"code": "missingRequiredArguments", "className": "Field", "name": name, "arguments": list}),
            ));
            ok = false;
        }
        ok.then_some(args)
    }

    /// Coerces `v` into `args`; false when it does not fit the argument's type.
    fn set_arg(&mut self, args: &mut Args, arg: &Arg, v: &Value, pos: Pos) -> bool {
        fn list(v: &Value) -> Option<Vec<String>> {
            match v {
                Value::String(s) => Some(vec![s.clone()]),
                Value::Array(items) => items.iter().map(|i| i.as_str().map(str::to_string)).collect(),
                _ => None,
            }
        }
        fn int(v: &Value) -> Option<i64> {
            v.as_i64().filter(|i| i32::try_from(*i).is_ok())
        }
        fn order(v: &Value, fields: &[(&str, OrderField)]) -> Option<(OrderField, bool)> {
            let o = v.as_object()?;
            let f = o.get("field")?.as_str()?;
            let field = fields.iter().find(|(n, _)| *n == f)?.1;
            let desc = match o.get("direction")?.as_str()? {
                "ASC" => false,
                "DESC" => true,
                _ => return None,
            };
            if o.keys().any(|k| k != "field" && k != "direction") {
                return None;
            }
            Some((field, desc))
        }
        match (arg.name, arg.ty) {
            ("first", _) => int(v).map(|n| args.first = Some(n)).is_some(),
            ("last", _) => int(v).map(|n| args.last = Some(n)).is_some(),
            ("after" | "before", _) => {
                let Some(s) = v.as_str() else { return false };
                match decode_cursor(s) {
                    Some(c) if arg.name == "after" => args.after = Some(c),
                    Some(c) => args.before = Some(c),
                    None => self.field_error(
                        "INVALID_CURSOR_ARGUMENTS",
                        format!("`{s}` does not appear to be a valid cursor."),
                        pos,
                    ),
                }
                true
            }
            ("size", _) => int(v).is_some(),
            ("number", _) => int(v).map(|n| args.number = Some(n)).is_some(),
            ("dryRun" | "followRenames", _) => match v.as_bool() {
                Some(b) => {
                    if arg.name == "dryRun" {
                        args.dry_run = b;
                    }
                    true
                }
                None => false,
            },
            (_, ArgTy::PrStates) => {
                let Some(states) = list(v) else { return false };
                let mut bits = 0u8;
                for s in states {
                    bits |= match s.as_str() {
                        "OPEN" => 1,
                        "CLOSED" => 2,
                        "MERGED" => 4,
                        _ => return false,
                    };
                }
                args.pr_states = Some(bits);
                true
            }
            (_, ArgTy::ReviewStates) => {
                let Some(states) = list(v) else { return false };
                if !states.iter().all(|s| {
                    matches!(
                        s.as_str(),
                        "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED" | "PENDING"
                    )
                }) {
                    return false;
                }
                args.review_states = Some(states);
                true
            }
            (_, ArgTy::IssueOrder) => order(
                v,
                &[
                    ("CREATED_AT", OrderField::CreatedAt),
                    ("UPDATED_AT", OrderField::UpdatedAt),
                    ("COMMENTS", OrderField::Comments),
                ],
            )
            .map(|o| args.order = Some(o))
            .is_some(),
            (_, ArgTy::IssueCommentOrder) => order(v, &[("UPDATED_AT", OrderField::UpdatedAt)])
                .map(|o| args.order = Some(o))
                .is_some(),
            (_, ArgTy::DeploymentOrder) => order(v, &[("CREATED_AT", OrderField::CreatedAt)])
                .map(|o| args.order = Some(o))
                .is_some(),
            (_, ArgTy::ReleaseOrder) => order(v, &[("CREATED_AT", OrderField::CreatedAt), ("NAME", OrderField::Name)])
                .map(|o| args.order = Some(o))
                .is_some(),
            ("ids", _) => {
                let ids = match v {
                    Value::Array(items) => items
                        .iter()
                        .map(|i| match i {
                            Value::String(s) => Some(s.clone()),
                            Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        })
                        .collect::<Option<Vec<_>>>(),
                    Value::String(s) => Some(vec![s.clone()]),
                    _ => None,
                };
                ids.map(|ids| args.ids = Some(ids)).is_some()
            }
            ("id", _) => match v {
                Value::String(s) => {
                    args.id = Some(s.clone());
                    true
                }
                Value::Number(n) => {
                    args.id = Some(n.to_string());
                    true
                }
                _ => false,
            },
            ("environments", _) => list(v).map(|l| args.environments = Some(l)).is_some(),
            ("labels", _) => list(v).map(|l| args.labels = Some(l)).is_some(),
            (name, ArgTy::String) => {
                let Some(s) = v.as_str() else { return false };
                let s = Some(s.to_string());
                match name {
                    "owner" => args.owner = s,
                    "name" => args.name = s,
                    "login" => args.login = s,
                    "author" => args.author = s,
                    "baseRefName" => args.base_ref = s,
                    "headRefName" => args.head_ref = s,
                    _ => {}
                }
                true
            }
            _ => false,
        }
    }
}

fn arg_present(args: &Args, name: &str) -> bool {
    match name {
        "owner" => args.owner.is_some(),
        "name" => args.name.is_some(),
        "id" => args.id.is_some(),
        "ids" => args.ids.is_some(),
        "login" => args.login.is_some(),
        "number" => args.number.is_some(),
        _ => true,
    }
}

fn schema_field(parent: Ty, name: &str) -> Option<FieldDef> {
    field(parent, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = CursorPos { key: -5, tie: 42 };
        assert_eq!(decode_cursor(&encode_cursor(c)), Some(c));
        assert_eq!(decode_cursor("nope"), None);
        assert_eq!(decode_cursor(&BASE64.encode("cursor:v2:x:1")), None);
    }
}
