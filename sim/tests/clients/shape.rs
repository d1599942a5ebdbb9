//! What an answer must look like: paths that hold a JSON type, keys a schema requires, and type
//! agreement with a published example of the same answer.

use serde_json::Value;

use crate::fixture;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    Int,
    Bool,
    Arr,
}

impl Kind {
    fn holds(self, v: &Value) -> bool {
        match self {
            Kind::Str => v.is_string(),
            Kind::Int => v.is_i64() || v.is_u64(),
            Kind::Bool => v.is_boolean(),
            Kind::Arr => v.is_array(),
        }
    }
}

/// Places where the published examples are wrong about the type, so ours may differ.
const EXAMPLE_ERRATA: [(&str, &str); 1] = [(
    ".fields.updated",
    "the Jira spec's issue example has `1`; Jira sends a time string (DevLake's recorded issues)",
)];

#[derive(Default)]
pub struct Shape {
    needs: Vec<(&'static str, Kind)>,
    required: Vec<String>,
    required_each: Vec<String>,
    example: Option<&'static str>,
    all_example_keys: bool,
}

impl Shape {
    /// `path` is keys joined by `.`; `key[]` (or `[]` alone) stands for every element of that
    /// array, of which there must be at least one.
    pub fn new(needs: &[(&'static str, Kind)]) -> Self {
        Self {
            needs: needs.to_vec(),
            ..Self::default()
        }
    }

    /// Compare with this fixture (`tests/fixtures/…`): keys both have hold the same JSON type.
    pub fn example(mut self, fixture: &'static str) -> Self {
        self.example = Some(fixture);
        self
    }

    pub fn without_example(mut self) -> Self {
        self.example = None;
        self
    }

    /// Every top-level key of the example must be there too.
    pub fn all_example_keys(mut self) -> Self {
        self.all_example_keys = true;
        self
    }

    /// Keys the (object) answer must have.
    pub fn required(mut self, keys: Vec<String>) -> Self {
        self.required = keys;
        self
    }

    /// Keys every element of the (array) answer must have.
    pub fn required_each(mut self, keys: Vec<String>) -> Self {
        self.required_each = keys;
        self
    }

    /// What is wrong with `body`, one line each.
    pub fn check(&self, body: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        for (path, kind) in &self.needs {
            need(body, path, *kind, path, &mut errors);
        }
        for key in &self.required {
            if body.get(key).is_none() {
                errors.push(format!("no `{key}`"));
            }
        }
        for (i, item) in body.as_array().into_iter().flatten().enumerate() {
            for key in &self.required_each {
                if item.get(key).is_none() {
                    errors.push(format!("[{i}] has no `{key}`"));
                }
            }
        }
        if let Some(name) = self.example {
            let example = fixture(name);
            match (body, &example) {
                // A list answer against a list example: every item against its first item.
                (Value::Array(ours), Value::Array(theirs)) => {
                    for (i, item) in ours.iter().enumerate() {
                        same_types(item, &theirs[0], &format!("[{i}]"), &mut errors);
                    }
                }
                // A list answer against one published item (a user, an organisation).
                (Value::Array(ours), _) => {
                    for (i, item) in ours.iter().enumerate() {
                        same_types(item, &example, &format!("[{i}]"), &mut errors);
                    }
                }
                _ => same_types(body, &example, "", &mut errors),
            }
            if self.all_example_keys {
                for key in example.as_object().into_iter().flat_map(|m| m.keys()) {
                    if body.get(key).is_none() {
                        errors.push(format!("no `{key}`, which {name} has"));
                    }
                }
            }
        }
        errors
    }
}

fn need(v: &Value, path: &str, kind: Kind, full: &str, errors: &mut Vec<String>) {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let (key, each) = match head.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (head, false),
    };
    let found = if key.is_empty() { Some(v) } else { v.get(key) };
    let Some(v) = found else {
        errors.push(format!("`{full}`: no `{key}` in {}", brief(v)));
        return;
    };
    let items: Vec<&Value> = if each {
        match v.as_array() {
            Some(a) if !a.is_empty() => a.iter().collect(),
            _ => {
                errors.push(format!("`{full}`: `{key}` is not a non-empty array: {}", brief(v)));
                return;
            }
        }
    } else {
        vec![v]
    };
    for item in items {
        match rest {
            Some(rest) => need(item, rest, kind, full, errors),
            None if kind.holds(item) => {}
            None => errors.push(format!("`{full}` is not {kind:?}: {}", brief(item))),
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Keys both objects have hold the same JSON type (null matches anything), recursively;
/// arrays are compared by their first items.
fn same_types(ours: &Value, theirs: &Value, at: &str, errors: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(a), Value::Object(b)) => {
            for (k, tv) in b {
                if let Some(ov) = a.get(k) {
                    same_types(ov, tv, &format!("{at}.{k}"), errors);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let (Some(x), Some(y)) = (a.first(), b.first()) {
                same_types(x, y, &format!("{at}[0]"), errors);
            }
        }
        (a, b) if json_type(a) == json_type(b) => {}
        (a, b) => {
            let erratum = EXAMPLE_ERRATA.iter().any(|(path, _)| at.ends_with(path));
            if !erratum {
                errors.push(format!(
                    "`{at}` is {} ({}) where the published example has {} ({})",
                    json_type(a),
                    brief(a),
                    json_type(b),
                    brief(b)
                ));
            }
        }
    }
}

fn brief(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}
