//! GitHub's GraphQL cost rule, computed from the plan before anything runs: add up the requests
//! needed to fill every connection (each nested connection once per node its parents can
//! return, assuming every `first`/`last` is filled), divide by 100, round, at least 1.
//! `nodeCount` is the number of nodes all connections can return; above 500,000 the query is
//! refused.

use super::plan::FieldSel;
use super::schema::{F, Ret, Ty};

pub const MAX_NODES: u64 = 500_000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    pub requests: u64,
    pub nodes: u64,
    /// Points charged.
    pub cost: u32,
    /// The connection at which the node limit was passed, and the count then.
    pub exceeded: Option<(String, u64)>,
}

pub fn compute(root: &[FieldSel<'_>]) -> Cost {
    let mut c = Cost::default();
    walk(root, 1, &mut c);
    c.cost = u32::try_from(((c.requests + 50) / 100).max(1)).unwrap_or(u32::MAX);
    c
}

fn walk(sel: &[FieldSel<'_>], mult: u64, c: &mut Cost) {
    for f in sel {
        match f.ret {
            Ret::Obj(Ty::Conn(_)) => {
                let page = f
                    .args
                    .first
                    .or(f.args.last)
                    .unwrap_or(0)
                    .clamp(0, super::plan::MAX_PAGE) as u64;
                c.requests = c.requests.saturating_add(mult);
                c.nodes = c.nodes.saturating_add(mult.saturating_mul(page));
                if c.nodes > MAX_NODES && c.exceeded.is_none() {
                    c.exceeded = Some((f.name.to_string(), c.nodes));
                }
                walk(&f.sub, mult.saturating_mul(page), c);
            }
            Ret::List(_) if f.f == F::Nodes && f.args.ids.is_some() => {
                let n = f.args.ids.as_ref().map_or(0, Vec::len) as u64;
                walk(&f.sub, mult.saturating_mul(n), c);
            }
            _ => walk(&f.sub, mult, c),
        }
    }
}

/// `1234567` → `1,234,567` (as in GitHub's node-limit message).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::graphql::plan::plan;

    fn cost_of(q: &str) -> Cost {
        let doc = graphql_parser::parse_query::<&str>(q).unwrap_or_else(|e| panic!("{e}"));
        let p = plan(&doc, None, None).unwrap_or_else(|e| panic!("{e:?}"));
        compute(&p.root)
    }

    #[test]
    fn documented_example_costs_two_points_and_7550_nodes() {
        let c = cost_of(
            r#"{ rateLimit { cost } repository(owner: "a", name: "b") {
                pullRequests(first: 50) { nodes {
                    reviews(first: 50) { nodes { id } }
                    commits(first: 50) { nodes { commit { oid } } }
                    comments(first: 50) { nodes { id } } } } } }"#,
        );
        assert_eq!((c.requests, c.nodes, c.cost), (151, 7550, 2));
    }

    #[test]
    fn minimum_is_one_and_limit_is_enforced() {
        assert_eq!(cost_of("{ viewer { login } }").cost, 1);
        let c = cost_of(
            r#"{ repository(owner: "a", name: "b") { pullRequests(first: 100) { nodes {
                reviews(first: 100) { nodes { commit { oid } } }
                commits(first: 100) { nodes { commit { oid } } } } } } }"#,
        );
        assert_eq!(c.nodes, 100 + 2 * 100 * 100);
        assert!(c.exceeded.is_none());
        let c = cost_of(
            r#"{ repository(owner: "a", name: "b") { pullRequests(first: 100) { nodes {
                reviews(first: 100) { nodes { pullRequest { commits(first: 100) { totalCount } } } } } } } }"#,
        );
        assert_eq!(c.nodes, 100 + 100 * 100 + 100 * 100 * 100);
        assert!(c.exceeded.is_some());
        assert_eq!(thousands(1_010_100), "1,010,100");
    }
}
