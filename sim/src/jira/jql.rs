//! The JQL subset a sync needs: a tokenizer, a recursive-descent parser and a compiler that
//! resolves names against the dataset and date literals in the API user's time zone.
//!
//! Grammar (keywords case-insensitive):
//! ```text
//! query    := [or] [ORDER BY sort ("," sort)*]
//! or       := and ((OR | "||") and)*
//! and      := not ((AND | "&&") not)*
//! not      := (NOT | "!") not | "(" or ")" | clause
//! clause   := field op operand
//! op       := = | != | < | <= | > | >= | ~ | !~ | IN | NOT IN | IS | IS NOT
//! operand  := value | "(" value ("," value)* ")" | EMPTY | NULL
//! value    := word | 'string' | "string" | function "(" [value ("," value)*] ")"
//! sort     := field [ASC | DESC]
//! ```
//! Supported fields: `project`, `updated`, `created`, `resolved`/`resolutiondate`,
//! `key`/`issuekey`, `id`, `status`, `statusCategory`, `issuetype`/`type`, `parent`,
//! `resolution`, `assignee`, `reporter`. Sortable: `updated`, `created`, `resolved`, `key`, `id`.

use std::cmp::Ordering;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::model::{JiraData, JiraIssue, cmp_numeric};

/// A JQL problem, worded as Jira words it (the HTTP layer answers 400 with it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JqlError(pub String);

impl std::fmt::Display for JqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn syntax(msg: impl std::fmt::Display) -> JqlError {
    JqlError(format!("Error in the JQL Query: {msg}"))
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Comma,
    /// `=`, `!=`, `<`, `<=`, `>`, `>=`, `~`, `!~`, `&&`, `||`, `!`.
    Sym(&'static str),
    /// A bare word (may be a keyword).
    Word(String),
    /// A quoted string (never a keyword).
    Quoted(String),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    line: usize,
    col: usize,
}

impl Token {
    fn at(&self) -> String {
        format!("(line {}, character {})", self.line, self.col)
    }

    fn text(&self) -> String {
        match &self.tok {
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::Comma => ",".into(),
            Tok::Sym(s) => (*s).into(),
            Tok::Word(w) | Tok::Quoted(w) => w.clone(),
        }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }
}

/// Characters Jira reserves outside quotes.
const RESERVED: &[char] = &[
    '+', '.', ';', '?', '*', '/', '%', '^', '$', '#', '@', '[', ']', '{', '}',
];

fn tokenize(input: &str) -> Result<Vec<Token>, JqlError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    while i < chars.len() {
        let c = chars[i];
        let (tline, tcol) = (line, col);
        let mut push = |tok: Tok| {
            out.push(Token {
                tok,
                line: tline,
                col: tcol,
            })
        };
        if c == '\n' {
            i += 1;
            line += 1;
            col = 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            col += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let (tok, len) = match (c, next) {
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            (',', _) => (Tok::Comma, 1),
            ('!', Some('=')) => (Tok::Sym("!="), 2),
            ('!', Some('~')) => (Tok::Sym("!~"), 2),
            ('!', _) => (Tok::Sym("!"), 1),
            ('<', Some('=')) => (Tok::Sym("<="), 2),
            ('>', Some('=')) => (Tok::Sym(">="), 2),
            ('<', _) => (Tok::Sym("<"), 1),
            ('>', _) => (Tok::Sym(">"), 1),
            ('=', _) => (Tok::Sym("="), 1),
            ('~', _) => (Tok::Sym("~"), 1),
            ('&', Some('&')) => (Tok::Sym("&&"), 2),
            ('|', Some('|')) => (Tok::Sym("||"), 2),
            ('"' | '\'', _) => {
                let quote = c;
                let mut s = String::new();
                let mut j = i + 1;
                let mut closed = false;
                while j < chars.len() {
                    match chars[j] {
                        '\\' if j + 1 < chars.len() => {
                            let e = chars[j + 1];
                            s.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                other => other,
                            });
                            j += 2;
                        }
                        ch if ch == quote => {
                            closed = true;
                            j += 1;
                            break;
                        }
                        ch => {
                            s.push(ch);
                            j += 1;
                        }
                    }
                }
                if !closed {
                    return Err(syntax(format!(
                        "The quoted string '{s}' has not been completed. (line {tline}, character {tcol})"
                    )));
                }
                (Tok::Quoted(s), j - i)
            }
            (c, _) if RESERVED.contains(&c) || c == '&' || c == '|' => {
                return Err(syntax(format!(
                    "The character '{c}' is a reserved JQL character. You must enclose it in a string or use the escape '\\u{:04x}' instead. (line {tline}, character {tcol})",
                    c as u32
                )));
            }
            _ => {
                let mut j = i;
                let mut s = String::new();
                while j < chars.len() {
                    let ch = chars[j];
                    if ch.is_whitespace() || "(),=!<>~\"'&|".contains(ch) || RESERVED.contains(&ch) {
                        break;
                    }
                    s.push(ch);
                    j += 1;
                }
                (Tok::Word(s), j - i)
            }
        };
        push(tok);
        i += len;
        col += len;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Bare word or quoted string.
    Text(String),
    /// `name(args)`.
    Func(String, Vec<Value>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    NotLike,
    In,
    NotIn,
    Is,
    IsNot,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Like => "~",
            Op::NotLike => "!~",
            Op::In => "in",
            Op::NotIn => "not in",
            Op::Is => "is",
            Op::IsNot => "is not",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    One(Value),
    List(Vec<Value>),
    Empty,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Clause { field: String, op: Op, operand: Operand },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortField {
    Updated,
    Created,
    Resolved,
    Key,
    Id,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortKey {
    pub field: SortField,
    pub desc: bool,
}

/// A parsed (not yet resolved) query.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub clause: Option<Expr>,
    pub order: Vec<(String, bool)>,
}

pub fn parse(input: &str) -> Result<Parsed, JqlError> {
    let toks = tokenize(input)?;
    let mut p = Parser { toks, pos: 0 };
    let clause = if p.peek().is_none() || p.at_order_by() {
        None
    } else {
        Some(p.or()?)
    };
    let mut order = Vec::new();
    if let Some(t) = p.peek() {
        if !p.at_order_by() {
            return Err(syntax(format!(
                "Expecting either 'OR' or 'AND' but got '{}'. {}",
                t.text(),
                t.at()
            )));
        }
        p.pos += 2;
        loop {
            let t = p.next_or_eof("a field name")?;
            let name = match &t.tok {
                Tok::Word(w) | Tok::Quoted(w) => w.clone(),
                _ => {
                    return Err(syntax(format!(
                        "Expecting a field name but got '{}'. {}",
                        t.text(),
                        t.at()
                    )));
                }
            };
            let mut desc = false;
            if let Some(t) = p.peek() {
                if t.is_kw("asc") {
                    p.pos += 1;
                } else if t.is_kw("desc") {
                    desc = true;
                    p.pos += 1;
                }
            }
            order.push((name, desc));
            match p.peek() {
                None => break,
                Some(t) if t.tok == Tok::Comma => p.pos += 1,
                Some(t) => {
                    return Err(syntax(format!(
                        "Expecting either 'ASC' or 'DESC' but got '{}'. {}",
                        t.text(),
                        t.at()
                    )));
                }
            }
        }
    }
    Ok(Parsed { clause, order })
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn peek2(&self) -> Option<&Token> {
        self.toks.get(self.pos + 1)
    }

    fn at_order_by(&self) -> bool {
        matches!((self.peek(), self.peek2()), (Some(a), Some(b)) if a.is_kw("order") && b.is_kw("by"))
    }

    fn next_or_eof(&mut self, expecting: &str) -> Result<Token, JqlError> {
        match self.toks.get(self.pos) {
            Some(t) => {
                self.pos += 1;
                Ok(t.clone())
            }
            None => Err(syntax(format!("Expecting {expecting} before the end of the query."))),
        }
    }

    fn or(&mut self) -> Result<Expr, JqlError> {
        let mut parts = vec![self.and()?];
        while let Some(t) = self.peek() {
            if t.is_kw("or") || t.tok == Tok::Sym("||") {
                self.pos += 1;
                parts.push(self.and()?);
            } else {
                break;
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Expr, JqlError> {
        let mut parts = vec![self.not()?];
        while let Some(t) = self.peek() {
            if t.is_kw("and") || t.tok == Tok::Sym("&&") {
                self.pos += 1;
                parts.push(self.not()?);
            } else {
                break;
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn not(&mut self) -> Result<Expr, JqlError> {
        let t = self.next_or_eof("a field name")?;
        if t.is_kw("not") || t.tok == Tok::Sym("!") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        if t.tok == Tok::LParen {
            let inner = self.or()?;
            let close = self.next_or_eof("')'")?;
            if close.tok != Tok::RParen {
                return Err(syntax(format!(
                    "Expecting ')' but got '{}'. {}",
                    close.text(),
                    close.at()
                )));
            }
            return Ok(inner);
        }
        let field = match &t.tok {
            Tok::Word(w) if !is_reserved_word(w) => w.clone(),
            Tok::Quoted(w) => w.clone(),
            _ => {
                return Err(syntax(format!(
                    "Expecting a field name but got '{}'. You must surround '{}' in quotation marks to use it as a field name. {}",
                    t.text(),
                    t.text(),
                    t.at()
                )));
            }
        };
        let op = self.op()?;
        let operand = self.operand(op)?;
        Ok(Expr::Clause { field, op, operand })
    }

    fn op(&mut self) -> Result<Op, JqlError> {
        let t = self.next_or_eof("an operator")?;
        let op = match &t.tok {
            Tok::Sym("=") => Op::Eq,
            Tok::Sym("!=") => Op::Ne,
            Tok::Sym("<") => Op::Lt,
            Tok::Sym("<=") => Op::Le,
            Tok::Sym(">") => Op::Gt,
            Tok::Sym(">=") => Op::Ge,
            Tok::Sym("~") => Op::Like,
            Tok::Sym("!~") => Op::NotLike,
            _ if t.is_kw("in") => Op::In,
            _ if t.is_kw("is") => {
                if self.peek().is_some_and(|n| n.is_kw("not")) {
                    self.pos += 1;
                    Op::IsNot
                } else {
                    Op::Is
                }
            }
            _ if t.is_kw("not") && self.peek().is_some_and(|n| n.is_kw("in")) => {
                self.pos += 1;
                Op::NotIn
            }
            _ => {
                return Err(syntax(format!(
                    "Expecting operator but got '{}'. The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. {}",
                    t.text(),
                    t.at()
                )));
            }
        };
        Ok(op)
    }

    fn operand(&mut self, op: Op) -> Result<Operand, JqlError> {
        if matches!(op, Op::Is | Op::IsNot) {
            let t = self.next_or_eof("'EMPTY'")?;
            if t.is_kw("empty") || t.is_kw("null") {
                return Ok(Operand::Empty);
            }
            return Err(syntax(format!("Expecting 'EMPTY' but got '{}'. {}", t.text(), t.at())));
        }
        if self.peek().is_some_and(|t| t.tok == Tok::LParen) {
            self.pos += 1;
            let mut values = Vec::new();
            loop {
                values.push(self.value()?);
                let t = self.next_or_eof("')'")?;
                match t.tok {
                    Tok::Comma => continue,
                    Tok::RParen => break,
                    _ => {
                        return Err(syntax(format!("Expecting ')' but got '{}'. {}", t.text(), t.at())));
                    }
                }
            }
            return Ok(Operand::List(values));
        }
        if self.peek().is_some_and(|t| t.is_kw("empty") || t.is_kw("null")) {
            self.pos += 1;
            return Ok(Operand::Empty);
        }
        Ok(Operand::One(self.value()?))
    }

    fn value(&mut self) -> Result<Value, JqlError> {
        let t = self.next_or_eof("either a value, list or function")?;
        match &t.tok {
            Tok::Quoted(s) => Ok(Value::Text(s.clone())),
            Tok::Word(w) if !is_reserved_word(w) => {
                if self.peek().is_some_and(|n| n.tok == Tok::LParen) {
                    self.pos += 1;
                    let mut args = Vec::new();
                    if self.peek().is_some_and(|n| n.tok == Tok::RParen) {
                        self.pos += 1;
                    } else {
                        loop {
                            args.push(self.value()?);
                            let n = self.next_or_eof("')'")?;
                            match n.tok {
                                Tok::Comma => continue,
                                Tok::RParen => break,
                                _ => {
                                    return Err(syntax(format!("Expecting ')' but got '{}'. {}", n.text(), n.at())));
                                }
                            }
                        }
                    }
                    return Ok(Value::Func(w.clone(), args));
                }
                Ok(Value::Text(w.clone()))
            }
            _ => Err(syntax(format!(
                "Expecting either a value, list or function but got '{}'. You must surround '{}' in quotation marks to use it as a value. {}",
                t.text(),
                t.text(),
                t.at()
            ))),
        }
    }
}

/// Words JQL reserves (they must be quoted to be used as names or values).
fn is_reserved_word(w: &str) -> bool {
    const WORDS: &[&str] = &[
        "and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc",
    ];
    WORDS.iter().any(|k| k.eq_ignore_ascii_case(w))
}

// ---------------------------------------------------------------------------------------------
// Compiled query

/// Which timestamp a date clause reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateField {
    Created,
    Updated,
    Resolved,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn test(self, o: Ordering) -> bool {
        match self {
            Cmp::Eq => o == Ordering::Equal,
            Cmp::Ne => o != Ordering::Equal,
            Cmp::Lt => o == Ordering::Less,
            Cmp::Le => o != Ordering::Greater,
            Cmp::Gt => o == Ordering::Greater,
            Cmp::Ge => o != Ordering::Less,
        }
    }
}

/// What a clause checks, with every name already resolved to ids.
#[derive(Clone, Debug, PartialEq)]
pub enum Pred {
    Project(Vec<String>),
    Status(Vec<String>),
    IssueType(Vec<String>),
    /// Issue ids.
    Issue(Vec<String>),
    /// Numeric comparison on the issue id.
    IdCmp(Cmp, String),
    /// Comparison on the issue number within one project (key order).
    KeyCmp(Cmp, String, u64),
    Parent(Vec<String>),
    ParentEmpty,
    Assignee(Vec<usize>),
    AssigneeEmpty,
    Reporter(Vec<usize>),
    ReporterEmpty,
    Date(DateField, Cmp, DateTime<Utc>),
    DateEmpty(DateField),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Pred(Pred),
}

/// A query ready to run against one dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// `None`: no restriction (an unbounded query).
    pub filter: Option<Filter>,
    /// Never empty: the default order is `id ASC`; ties are always broken by id.
    pub order: Vec<SortKey>,
}

/// What compilation needs besides the text.
pub struct Env<'a> {
    pub data: &'a JiraData,
    /// The API user's time zone (JQL date literals are read in it).
    pub tz: Tz,
    /// The simulated present (`now()`, relative periods like `-5d`).
    pub now: DateTime<Utc>,
    /// Index of the API user in `data.users` (`currentUser()`), if any.
    pub current_user: Option<usize>,
}

pub fn compile(input: &str, env: &Env<'_>) -> Result<Query, JqlError> {
    let parsed = parse(input)?;
    let filter = parsed.clause.as_ref().map(|e| compile_expr(e, env)).transpose()?;
    let mut order = Vec::new();
    for (name, desc) in &parsed.order {
        let field = match name.to_ascii_lowercase().as_str() {
            "updated" | "updateddate" => SortField::Updated,
            "created" | "createddate" => SortField::Created,
            "resolved" | "resolutiondate" => SortField::Resolved,
            "key" | "issuekey" => SortField::Key,
            "id" => SortField::Id,
            _ => return Err(JqlError(format!("Not able to sort using field '{name}'."))),
        };
        order.push(SortKey { field, desc: *desc });
    }
    if order.is_empty() {
        order.push(SortKey {
            field: SortField::Id,
            desc: false,
        });
    }
    Ok(Query { filter, order })
}

fn compile_expr(e: &Expr, env: &Env<'_>) -> Result<Filter, JqlError> {
    Ok(match e {
        Expr::And(parts) => Filter::And(parts.iter().map(|p| compile_expr(p, env)).collect::<Result<_, _>>()?),
        Expr::Or(parts) => Filter::Or(parts.iter().map(|p| compile_expr(p, env)).collect::<Result<_, _>>()?),
        Expr::Not(inner) => Filter::Not(Box::new(compile_expr(inner, env)?)),
        Expr::Clause { field, op, operand } => compile_clause(field, *op, operand, env)?,
    })
}

fn unsupported_op(op: Op, field: &str) -> JqlError {
    JqlError(format!(
        "The operator '{}' is not supported by the '{field}' field.",
        op.as_str()
    ))
}

fn values(operand: &Operand) -> Vec<&Value> {
    match operand {
        Operand::One(v) => vec![v],
        Operand::List(vs) => vs.iter().collect(),
        Operand::Empty => Vec::new(),
    }
}

/// `=`/`IN` keep the set, `!=`/`NOT IN` negate it, `IS [NOT] EMPTY` use `empty`.
fn membership(
    field: &str,
    op: Op,
    operand: &Operand,
    resolve: impl Fn(&Value) -> Result<Vec<Pred>, JqlError>,
    set: impl Fn(Vec<Pred>) -> Pred,
    empty: Option<Pred>,
) -> Result<Filter, JqlError> {
    let negate = |f: Filter, neg: bool| if neg { Filter::Not(Box::new(f)) } else { f };
    match (op, operand) {
        (Op::Is | Op::Eq | Op::IsNot | Op::Ne, Operand::Empty) => Ok(negate(
            Filter::Pred(empty.unwrap_or(Pred::Issue(Vec::new()))),
            matches!(op, Op::IsNot | Op::Ne),
        )),
        (Op::Eq | Op::Ne, Operand::One(_)) | (Op::In | Op::NotIn, Operand::List(_) | Operand::One(Value::Func(..))) => {
            let mut resolved = Vec::new();
            for v in values(operand) {
                resolved.extend(resolve(v)?);
            }
            Ok(negate(Filter::Pred(set(resolved)), matches!(op, Op::Ne | Op::NotIn)))
        }
        (Op::In | Op::NotIn, Operand::One(_)) => Err(syntax(format!(
            "Operator '{}' does not support the non-list value for field '{field}'.",
            op.as_str()
        ))),
        _ => Err(unsupported_op(op, field)),
    }
}

fn text_of<'v>(v: &'v Value, field: &str) -> Result<&'v str, JqlError> {
    match v {
        Value::Text(t) => Ok(t),
        Value::Func(name, _) => Err(JqlError(format!(
            "Unable to find JQL function '{name}()' for field '{field}'."
        ))),
    }
}

fn no_value(v: &str, field: &str) -> JqlError {
    JqlError(format!("The value '{v}' does not exist for the field '{field}'."))
}

fn compile_clause(field: &str, op: Op, operand: &Operand, env: &Env<'_>) -> Result<Filter, JqlError> {
    let data = env.data;
    let lower = field.to_ascii_lowercase();
    match lower.as_str() {
        "project" => membership(
            field,
            op,
            operand,
            |v| {
                let t = text_of(v, field)?;
                data.projects
                    .iter()
                    .find(|p| p.key.eq_ignore_ascii_case(t) || p.id == t || p.name.eq_ignore_ascii_case(t))
                    .map(|p| vec![Pred::Project(vec![p.id.clone()])])
                    .ok_or_else(|| no_value(t, field))
            },
            |ps| Pred::Project(flatten(ps)),
            None,
        ),
        "status" => membership(
            field,
            op,
            operand,
            |v| {
                let t = text_of(v, field)?;
                let ids: Vec<String> = data
                    .statuses
                    .iter()
                    .filter(|s| s.id == t || s.name.eq_ignore_ascii_case(t))
                    .map(|s| s.id.clone())
                    .collect();
                if ids.is_empty() {
                    return Err(no_value(t, field));
                }
                Ok(vec![Pred::Status(ids)])
            },
            |ps| Pred::Status(flatten(ps)),
            None,
        ),
        "statuscategory" => membership(
            field,
            op,
            operand,
            |v| {
                let t = text_of(v, field)?;
                let cat = super::render::STATUS_CATEGORIES
                    .iter()
                    .find(|c| c.key.eq_ignore_ascii_case(t) || c.name.eq_ignore_ascii_case(t) || c.id.to_string() == t)
                    .ok_or_else(|| no_value(t, field))?;
                let ids = data
                    .statuses
                    .iter()
                    .filter(|s| super::render::category(&s.category_key).key == cat.key)
                    .map(|s| s.id.clone())
                    .collect();
                Ok(vec![Pred::Status(ids)])
            },
            |ps| Pred::Status(flatten(ps)),
            None,
        ),
        "issuetype" | "type" => membership(
            field,
            op,
            operand,
            |v| {
                let ids: Vec<String> = match v {
                    Value::Func(f, _) if f.eq_ignore_ascii_case("standardIssueTypes") => data
                        .issue_types
                        .iter()
                        .filter(|t| !t.subtask)
                        .map(|t| t.id.clone())
                        .collect(),
                    Value::Func(f, _) if f.eq_ignore_ascii_case("subTaskIssueTypes") => data
                        .issue_types
                        .iter()
                        .filter(|t| t.subtask)
                        .map(|t| t.id.clone())
                        .collect(),
                    _ => {
                        let t = text_of(v, field)?;
                        let ids: Vec<String> = data
                            .issue_types
                            .iter()
                            .filter(|it| it.id == t || it.name.eq_ignore_ascii_case(t))
                            .map(|it| it.id.clone())
                            .collect();
                        if ids.is_empty() {
                            return Err(no_value(t, field));
                        }
                        ids
                    }
                };
                Ok(vec![Pred::IssueType(ids)])
            },
            |ps| Pred::IssueType(flatten(ps)),
            None,
        ),
        "parent" => membership(
            field,
            op,
            operand,
            |v| Ok(vec![Pred::Parent(vec![issue_ref(v, field, data)?])]),
            |ps| Pred::Parent(flatten(ps)),
            Some(Pred::ParentEmpty),
        ),
        "assignee" | "reporter" => {
            let is_assignee = lower == "assignee";
            membership(
                field,
                op,
                operand,
                |v| {
                    let idx = user_ref(v, field, env)?;
                    Ok(vec![if is_assignee {
                        Pred::Assignee(vec![idx])
                    } else {
                        Pred::Reporter(vec![idx])
                    }])
                },
                move |ps| {
                    let all = ps
                        .into_iter()
                        .flat_map(|p| match p {
                            Pred::Assignee(v) | Pred::Reporter(v) => v,
                            _ => Vec::new(),
                        })
                        .collect();
                    if is_assignee {
                        Pred::Assignee(all)
                    } else {
                        Pred::Reporter(all)
                    }
                },
                Some(if is_assignee {
                    Pred::AssigneeEmpty
                } else {
                    Pred::ReporterEmpty
                }),
            )
        }
        "resolution" => {
            // The simulator knows one resolution (Done); "Unresolved" means none.
            let empty = Filter::Pred(Pred::DateEmpty(DateField::Resolved));
            let negate = |f: Filter, neg: bool| if neg { Filter::Not(Box::new(f)) } else { f };
            match (op, operand) {
                (Op::Is | Op::Eq | Op::IsNot | Op::Ne, Operand::Empty) => {
                    Ok(negate(empty, matches!(op, Op::IsNot | Op::Ne)))
                }
                (Op::Eq | Op::Ne, Operand::One(_)) | (Op::In | Op::NotIn, Operand::List(_)) => {
                    let mut any = Vec::new();
                    for v in values(operand) {
                        let t = text_of(v, field)?;
                        if t.eq_ignore_ascii_case("unresolved") {
                            any.push(empty.clone());
                        } else if t.eq_ignore_ascii_case(super::render::RESOLUTION_NAME)
                            || t == super::render::RESOLUTION_ID
                        {
                            any.push(Filter::Not(Box::new(empty.clone())));
                        } else {
                            return Err(no_value(t, field));
                        }
                    }
                    Ok(negate(Filter::Or(any), matches!(op, Op::Ne | Op::NotIn)))
                }
                _ => Err(unsupported_op(op, field)),
            }
        }
        "key" | "issuekey" => match op {
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                let Operand::One(v) = operand else {
                    return Err(unsupported_op(op, field));
                };
                let t = text_of(v, field)?;
                let (project, number) = split_key(t)
                    .ok_or_else(|| JqlError(format!("The issue key '{t}' for field '{field}' is invalid.")))?;
                let project = data
                    .projects
                    .iter()
                    .find(|p| p.key.eq_ignore_ascii_case(project))
                    .ok_or_else(|| JqlError(format!("The issue key '{t}' for field '{field}' is invalid.")))?;
                Ok(Filter::Pred(Pred::KeyCmp(cmp_of(op), project.key.clone(), number)))
            }
            _ => membership(
                field,
                op,
                operand,
                |v| Ok(vec![Pred::Issue(vec![issue_ref(v, field, data)?])]),
                |ps| Pred::Issue(flatten(ps)),
                None,
            ),
        },
        "id" => match op {
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                let Operand::One(v) = operand else {
                    return Err(unsupported_op(op, field));
                };
                let t = text_of(v, field)?;
                if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(JqlError(format!("The issue key '{t}' for field '{field}' is invalid.")));
                }
                Ok(Filter::Pred(Pred::IdCmp(
                    cmp_of(op),
                    t.trim_start_matches('0').to_string(),
                )))
            }
            _ => membership(
                field,
                op,
                operand,
                |v| Ok(vec![Pred::Issue(vec![issue_ref(v, field, data)?])]),
                |ps| Pred::Issue(flatten(ps)),
                None,
            ),
        },
        "created" | "createddate" | "updated" | "updateddate" | "resolved" | "resolutiondate" => {
            let df = match lower.as_str() {
                "created" | "createddate" => DateField::Created,
                "updated" | "updateddate" => DateField::Updated,
                _ => DateField::Resolved,
            };
            compile_date(field, df, op, operand, env)
        }
        "summary"
        | "description"
        | "text"
        | "labels"
        | "sprint"
        | "priority"
        | "creator"
        | "component"
        | "fixversion"
        | "affectedversion"
        | "comment"
        | "duedate"
        | "due"
        | "epic link"
        | "rank"
        | "watcher"
        | "worklogdate"
        | "statuscategorychangeddate" => Err(JqlError(format!(
            "Field '{field}' is not supported by the simulator's JQL subset."
        ))),
        _ => Err(JqlError(format!(
            "Field '{field}' does not exist or you do not have permission to view it."
        ))),
    }
}

fn flatten(ps: Vec<Pred>) -> Vec<String> {
    ps.into_iter()
        .flat_map(|p| match p {
            Pred::Project(v) | Pred::Status(v) | Pred::IssueType(v) | Pred::Issue(v) | Pred::Parent(v) => v,
            _ => Vec::new(),
        })
        .collect()
}

fn cmp_of(op: Op) -> Cmp {
    match op {
        Op::Eq | Op::In => Cmp::Eq,
        Op::Ne | Op::NotIn => Cmp::Ne,
        Op::Lt => Cmp::Lt,
        Op::Le => Cmp::Le,
        Op::Gt => Cmp::Gt,
        _ => Cmp::Ge,
    }
}

fn issue_ref(v: &Value, field: &str, data: &JiraData) -> Result<String, JqlError> {
    let t = text_of(v, field)?;
    data.issue_by_id_or_key(t)
        .map(|i| i.id.clone())
        .ok_or_else(|| JqlError(format!("An issue with key '{t}' does not exist for field '{field}'.")))
}

fn user_ref(v: &Value, field: &str, env: &Env<'_>) -> Result<usize, JqlError> {
    if let Value::Func(f, _) = v
        && f.eq_ignore_ascii_case("currentUser")
    {
        // Nobody matches when the API user is not in the dataset.
        return Ok(env.current_user.unwrap_or(usize::MAX));
    }
    let t = text_of(v, field)?;
    env.data
        .users
        .iter()
        .position(|u| {
            u.account_id == t
                || u.name.eq_ignore_ascii_case(t)
                || u.email.eq_ignore_ascii_case(t)
                || u.display_name.eq_ignore_ascii_case(t)
        })
        .ok_or_else(|| no_value(t, field))
}

/// `ABC-123` → (`ABC`, 123).
pub fn split_key(key: &str) -> Option<(&str, u64)> {
    let (project, number) = key.rsplit_once('-')?;
    if project.is_empty() {
        return None;
    }
    Some((project, number.parse().ok()?))
}

fn compile_date(field: &str, df: DateField, op: Op, operand: &Operand, env: &Env<'_>) -> Result<Filter, JqlError> {
    match (op, operand) {
        (Op::Is, Operand::Empty) | (Op::Eq, Operand::Empty) => Ok(Filter::Pred(Pred::DateEmpty(df))),
        (Op::IsNot, Operand::Empty) | (Op::Ne, Operand::Empty) => {
            Ok(Filter::Not(Box::new(Filter::Pred(Pred::DateEmpty(df)))))
        }
        (Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge, Operand::One(v)) => {
            Ok(Filter::Pred(Pred::Date(df, cmp_of(op), date_value(v, field, env)?)))
        }
        (Op::In | Op::NotIn, Operand::List(vs)) => {
            let mut any = Vec::new();
            for v in vs {
                any.push(Filter::Pred(Pred::Date(df, Cmp::Eq, date_value(v, field, env)?)));
            }
            let f = Filter::Or(any);
            Ok(if op == Op::NotIn { Filter::Not(Box::new(f)) } else { f })
        }
        _ => Err(unsupported_op(op, field)),
    }
}

fn bad_date(v: &str, field: &str) -> JqlError {
    JqlError(format!(
        "Date value '{v}' for field '{field}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
    ))
}

/// A date literal: epoch milliseconds, `yyyy/MM/dd HH:mm`, `yyyy-MM-dd HH:mm`, `yyyy/MM/dd`,
/// `yyyy-MM-dd` (in the user's time zone), a period relative to now (`-5d`, `4w 2d`, `-90m`),
/// or `now()`, `startOfDay()`, `endOfDay()`.
pub fn date_value(v: &Value, field: &str, env: &Env<'_>) -> Result<DateTime<Utc>, JqlError> {
    match v {
        Value::Func(name, _) => {
            let local_today = env.now.with_timezone(&env.tz).date_naive();
            match name.to_ascii_lowercase().as_str() {
                "now" => Ok(env.now),
                "startofday" => Ok(local_to_utc(local_today.and_time(chrono::NaiveTime::MIN), env.tz)),
                "endofday" => Ok(local_to_utc(local_today.and_time(chrono::NaiveTime::MIN), env.tz)
                    + Duration::days(1)
                    - Duration::milliseconds(1)),
                _ => Err(JqlError(format!(
                    "Unable to find JQL function '{name}()' for field '{field}'."
                ))),
            }
        }
        Value::Text(t) => {
            let t = t.trim();
            if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                let ms: i64 = t.parse().map_err(|_| bad_date(t, field))?;
                return DateTime::<Utc>::from_timestamp_millis(ms).ok_or_else(|| bad_date(t, field));
            }
            for fmt in ["%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M"] {
                if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt) {
                    return Ok(local_to_utc(n, env.tz));
                }
            }
            for fmt in ["%Y/%m/%d", "%Y-%m-%d"] {
                if let Ok(d) = NaiveDate::parse_from_str(t, fmt) {
                    return Ok(local_to_utc(d.and_time(chrono::NaiveTime::MIN), env.tz));
                }
            }
            if let Some(d) = period(t) {
                return Ok(env.now + d);
            }
            Err(bad_date(t, field))
        }
    }
}

/// Local wall time in `tz` → UTC (the earlier instant when ambiguous, shifted past DST gaps).
pub fn local_to_utc(n: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&n).earliest() {
        Some(dt) => dt.with_timezone(&Utc),
        None => match tz.from_local_datetime(&(n + Duration::hours(1))).earliest() {
            Some(dt) => dt.with_timezone(&Utc),
            None => Utc.from_utc_datetime(&n),
        },
    }
}

/// `-5d`, `+2h`, `4w 2d`, `-1w 3d 4h 5m` (the sign applies to the whole period).
fn period(t: &str) -> Option<Duration> {
    let (sign, rest) = match t.as_bytes().first()? {
        b'-' => (-1, &t[1..]),
        b'+' => (1, &t[1..]),
        _ => (1, t),
    };
    let mut total = Duration::zero();
    let mut any = false;
    for part in rest.split_whitespace() {
        let unit = part.chars().last()?;
        let n: i64 = part[..part.len() - unit.len_utf8()].parse().ok()?;
        total += match unit.to_ascii_lowercase() {
            'w' => Duration::weeks(n),
            'd' => Duration::days(n),
            'h' => Duration::hours(n),
            'm' => Duration::minutes(n),
            _ => return None,
        };
        any = true;
    }
    any.then_some(total * sign)
}

// ---------------------------------------------------------------------------------------------
// Evaluation and order

impl Filter {
    pub fn matches(&self, issue: &JiraIssue) -> bool {
        match self {
            Filter::And(parts) => parts.iter().all(|p| p.matches(issue)),
            Filter::Or(parts) => parts.iter().any(|p| p.matches(issue)),
            Filter::Not(inner) => !inner.matches(issue),
            Filter::Pred(p) => p.matches(issue),
        }
    }
}

impl Pred {
    fn matches(&self, issue: &JiraIssue) -> bool {
        match self {
            Pred::Project(ids) => ids.contains(&issue.project_id),
            Pred::Status(ids) => ids.contains(&issue.status_id),
            Pred::IssueType(ids) => ids.contains(&issue.issue_type_id),
            Pred::Issue(ids) => ids.contains(&issue.id),
            Pred::IdCmp(cmp, id) => cmp.test(cmp_numeric(&issue.id, id)),
            Pred::KeyCmp(cmp, project, number) => match split_key(&issue.key) {
                Some((p, n)) if p.eq_ignore_ascii_case(project) => cmp.test(n.cmp(number)),
                _ => false,
            },
            Pred::Parent(ids) => issue.parent_id.as_ref().is_some_and(|p| ids.iter().any(|id| id == p)),
            Pred::ParentEmpty => issue.parent_id.is_none(),
            Pred::Assignee(us) => issue.assignee.is_some_and(|a| us.contains(&a)),
            Pred::AssigneeEmpty => issue.assignee.is_none(),
            Pred::Reporter(us) => issue.reporter.is_some_and(|a| us.contains(&a)),
            Pred::ReporterEmpty => issue.reporter.is_none(),
            Pred::Date(df, cmp, at) => match date_of(issue, *df) {
                Some(d) => cmp.test(d.cmp(at)),
                None => false,
            },
            Pred::DateEmpty(df) => date_of(issue, *df).is_none(),
        }
    }
}

fn date_of(issue: &JiraIssue, df: DateField) -> Option<DateTime<Utc>> {
    match df {
        DateField::Created => Some(issue.created),
        DateField::Updated => Some(issue.updated),
        DateField::Resolved => issue.resolved,
    }
}

impl Query {
    pub fn matches(&self, issue: &JiraIssue) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(issue))
    }

    /// The total order of results: the ORDER BY keys, then id ascending.
    pub fn cmp(&self, a: &JiraIssue, b: &JiraIssue) -> Ordering {
        for k in &self.order {
            let o = match k.field {
                SortField::Updated => a.updated.cmp(&b.updated),
                SortField::Created => a.created.cmp(&b.created),
                SortField::Resolved => cmp_opt_date(a.resolved, b.resolved),
                SortField::Key => cmp_key(&a.key, &b.key),
                SortField::Id => cmp_numeric(&a.id, &b.id),
            };
            let o = if k.desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        cmp_numeric(&a.id, &b.id)
    }

    /// Where `issue` sorts relative to a position remembered in a page token.
    pub fn cmp_cursor(&self, issue: &JiraIssue, cursor: &Cursor) -> Ordering {
        for (k, v) in self.order.iter().zip(&cursor.values) {
            let o = match (k.field, v) {
                (SortField::Updated, CursorValue::Time(t)) => cmp_opt_nanos(Some(nanos(issue.updated)), *t),
                (SortField::Created, CursorValue::Time(t)) => cmp_opt_nanos(Some(nanos(issue.created)), *t),
                (SortField::Resolved, CursorValue::Time(t)) => cmp_opt_nanos(issue.resolved.map(nanos), *t),
                (SortField::Key, CursorValue::Key(key)) => cmp_key(&issue.key, key),
                _ => cmp_numeric(&issue.id, &cursor.id),
            };
            let o = if k.desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        cmp_numeric(&issue.id, &cursor.id)
    }

    /// The position of `issue` in this order, for a page token.
    pub fn cursor_of(&self, issue: &JiraIssue) -> Cursor {
        Cursor {
            id: issue.id.clone(),
            values: self
                .order
                .iter()
                .map(|k| match k.field {
                    SortField::Updated => CursorValue::Time(Some(nanos(issue.updated))),
                    SortField::Created => CursorValue::Time(Some(nanos(issue.created))),
                    SortField::Resolved => CursorValue::Time(issue.resolved.map(nanos)),
                    SortField::Key => CursorValue::Key(issue.key.clone()),
                    SortField::Id => CursorValue::Id,
                })
                .collect(),
        }
    }

    /// Whether the query restricts anything (Jira Cloud refuses unbounded queries).
    pub fn is_bounded(&self) -> bool {
        self.filter.is_some()
    }
}

/// A position in a result order: the last issue of a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub id: String,
    pub values: Vec<CursorValue>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CursorValue {
    /// Nanoseconds since the epoch; `None` for an empty date.
    Time(Option<i64>),
    Key(String),
    Id,
}

impl Cursor {
    /// `id|v1|v2…` with `t<nanos>`, `t-`, `k<key>`, `i`.
    pub fn encode(&self) -> String {
        let mut s = self.id.clone();
        for v in &self.values {
            s.push('|');
            match v {
                CursorValue::Time(Some(n)) => s.push_str(&format!("t{n}")),
                CursorValue::Time(None) => s.push_str("t-"),
                CursorValue::Key(k) => {
                    s.push('k');
                    s.push_str(k);
                }
                CursorValue::Id => s.push('i'),
            }
        }
        s
    }

    pub fn decode(s: &str, order: &[SortKey]) -> Option<Cursor> {
        let mut parts = s.split('|');
        let id = parts.next()?.to_string();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut values = Vec::new();
        for k in order {
            let p = parts.next()?;
            let v = match (k.field, p.as_bytes().first()) {
                (SortField::Updated | SortField::Created | SortField::Resolved, Some(b't')) => {
                    if &p[1..] == "-" {
                        CursorValue::Time(None)
                    } else {
                        CursorValue::Time(Some(p[1..].parse().ok()?))
                    }
                }
                (SortField::Key, Some(b'k')) => CursorValue::Key(p[1..].to_string()),
                (SortField::Id, Some(b'i')) => CursorValue::Id,
                _ => return None,
            };
            values.push(v);
        }
        if parts.next().is_some() {
            return None;
        }
        Some(Cursor { id, values })
    }
}

pub fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// Empty dates sort after every date (ascending).
fn cmp_opt_date(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Ordering {
    cmp_opt_nanos(a.map(nanos), b.map(nanos))
}

fn cmp_opt_nanos(a: Option<i64>, b: Option<i64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Issue keys order by project key, then by number (`A-9` < `A-10` < `B-1`).
pub fn cmp_key(a: &str, b: &str) -> Ordering {
    match (split_key(a), split_key(b)) {
        (Some((pa, na)), Some((pb, nb))) => pa.cmp(pb).then(na.cmp(&nb)),
        _ => a.cmp(b),
    }
}
