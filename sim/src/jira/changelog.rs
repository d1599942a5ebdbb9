//! Cloud's complete changelog sources: `GET /rest/api/3/issue/{idOrKey}/changelog`
//! (`PageBeanChangelog`, oldest first, startAt paging) and `POST /rest/api/3/changelog/bulkfetch`
//! (many issues, oldest first by date then issue id, `nextPageToken` paging).

use std::cmp::Ordering;
use std::collections::HashMap;

use actix_web::HttpRequest;
use actix_web::web::{Bytes, Data, Path};

use super::json::Out;
use super::render::{Flavor, item_matches};
use super::search::{
    BAD_TOKEN, decode_token, encode_token, json_object, opt_int, opt_string, query_hash, reject_unknown, string_list,
};
use super::{JiraResult, QueryPairs, bad_request, ctx, not_found, ok, ok_items};
use crate::model::{JiraHistory, JiraIssue, cmp_numeric};
use crate::state::SimState;

pub const NO_ISSUE: &str = "Issue does not exist or you do not have permission to see it.";

/// Largest page of `/issue/{id}/changelog` (and its default).
const CHANGELOG_PAGE: i64 = 100;

pub async fn issue_changelog(req: HttpRequest, state: Data<SimState>, path: Path<String>) -> JiraResult {
    let id_or_key = path.into_inner();
    let q = QueryPairs::parse(req.query_string());
    let start = q.int("startAt")?.unwrap_or(0).max(0) as usize;
    let max = q.int("maxResults")?.unwrap_or(CHANGELOG_PAGE).clamp(1, CHANGELOG_PAGE) as usize;
    let data = state.data();
    let Some(issue) = data.jira.issue_by_id_or_key(&id_or_key) else {
        return Err(not_found(NO_ISSUE));
    };
    let cx = ctx(&req, Flavor::Cloud, &data.jira);
    let total = issue.changelog.len();
    let end = start.saturating_add(max).min(total);
    let is_last = end >= total;
    let page_url = |at: usize| format!("{}/issue/{}/changelog?startAt={at}&maxResults={max}", cx.api, id_or_key);
    let mut out = Out::with_capacity(256 + (end.saturating_sub(start)) * 800);
    out.begin_obj();
    out.kv_str("self", &page_url(start));
    if !is_last {
        out.kv_str("nextPage", &page_url(end));
    }
    out.kv_int("maxResults", max as i64);
    out.kv_int("startAt", start as i64);
    out.kv_int("total", total as i64);
    out.kv_bool("isLast", is_last);
    out.key("values");
    out.begin_arr();
    for h in issue.changelog.get(start..end).unwrap_or_default() {
        cx.history(&mut out, h, None);
    }
    out.end_arr();
    out.end_obj();
    ok(out)
}

/// One history of one issue, in bulkfetch order.
struct Entry<'a> {
    issue: &'a JiraIssue,
    index: usize,
    history: &'a JiraHistory,
}

fn cmp_entries(a: &Entry<'_>, b: &Entry<'_>) -> Ordering {
    a.history
        .created
        .cmp(&b.history.created)
        .then_with(|| cmp_numeric(&a.issue.id, &b.issue.id))
        .then(a.index.cmp(&b.index))
}

/// Bulkfetch cursor: `<created nanos>|<issue id>|<index>` of the last history sent.
fn cursor_cmp(e: &Entry<'_>, cursor: &(i64, String, usize)) -> Ordering {
    super::jql::nanos(e.history.created)
        .cmp(&cursor.0)
        .then_with(|| cmp_numeric(&e.issue.id, &cursor.1))
        .then(e.index.cmp(&cursor.2))
}

fn is_numeric(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_cursor(s: &str) -> Option<(i64, String, usize)> {
    let mut parts = s.split('|');
    let t = parts.next()?.parse().ok()?;
    let id = parts.next()?.to_string();
    let idx = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((t, id, idx))
}

pub async fn bulkfetch(req: HttpRequest, state: Data<SimState>, body: Bytes) -> JiraResult {
    let obj = json_object(&body)?;
    reject_unknown(&obj, &["issueIdsOrKeys", "fieldIds", "maxResults", "nextPageToken"])?;
    let ids = string_list(&obj, "issueIdsOrKeys")?;
    let field_ids = string_list(&obj, "fieldIds")?;
    let max = opt_int(&obj, "maxResults")?;
    let token = opt_string(&obj, "nextPageToken")?;
    if ids.is_empty() || ids.len() > 1000 {
        return Err(bad_request(
            "issueIdsOrKeys must contain between 1 and 1000 issue IDs or keys.",
        ));
    }
    if field_ids.len() > 10 {
        return Err(bad_request("fieldIds must contain at most 10 field IDs."));
    }
    let max = max.unwrap_or(1000);
    if !(1..=10_000).contains(&max) {
        return Err(bad_request("maxResults must be between 1 and 10000."));
    }
    let max = max as usize;
    let hash = query_hash(&[&ids.join(","), &field_ids.join(",")]);
    let cursor = match token.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => match decode_token(t, &hash).as_deref().and_then(parse_cursor) {
            Some(c) => Some(c),
            None => return Err(bad_request(BAD_TOKEN)),
        },
    };

    let data = state.data();
    let only = (!field_ids.is_empty()).then_some(field_ids.as_slice());
    // Issues you cannot see are left out silently; each issue counts once.
    let all = &data.jira.issues;
    // Keys are found by a scan; many keys get an index instead.
    let by_key: Option<HashMap<String, usize>> =
        (ids.len() > 16 && ids.iter().any(|k| !is_numeric(k.trim()))).then(|| {
            all.iter()
                .enumerate()
                .map(|(n, i)| (i.key.to_ascii_uppercase(), n))
                .collect()
        });
    let mut issues: Vec<&JiraIssue> = ids
        .iter()
        .map(|k| k.trim())
        .filter_map(|k| match &by_key {
            Some(index) if !is_numeric(k) => index.get(&k.to_ascii_uppercase()).map(|&n| &all[n]),
            _ => data.jira.issue_by_id_or_key(k),
        })
        .collect();
    issues.sort_by(|a, b| cmp_numeric(&a.id, &b.id));
    issues.dedup_by(|a, b| a.id == b.id);
    let mut entries: Vec<Entry<'_>> = issues
        .iter()
        .flat_map(|issue| {
            issue
                .changelog
                .iter()
                .enumerate()
                .map(move |(index, history)| Entry { issue, index, history })
        })
        .filter(|e| only.is_none_or(|f| e.history.items.iter().any(|i| item_matches(i, f))))
        .filter(|e| cursor.as_ref().is_none_or(|c| cursor_cmp(e, c) == Ordering::Greater))
        .collect();
    let more = entries.len() > max;
    if more {
        entries.select_nth_unstable_by(max, cmp_entries);
        entries.truncate(max);
    }
    entries.sort_unstable_by(cmp_entries);

    let cx = ctx(&req, Flavor::Cloud, &data.jira);
    let mut out = Out::with_capacity(256 + entries.len() * 800);
    out.begin_obj();
    out.key("issueChangeLogs");
    out.begin_arr();
    // Grouped per issue, issues in order of their first history on this page.
    let mut slot: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<(&str, Vec<&JiraHistory>)> = Vec::new();
    for e in &entries {
        let i = *slot.entry(e.issue.id.as_str()).or_insert_with(|| {
            groups.push((&e.issue.id, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(e.history);
    }
    for (id, histories) in groups {
        out.begin_obj();
        out.kv_str("issueId", id);
        out.key("changeHistories");
        out.begin_arr();
        for h in histories {
            cx.history(&mut out, h, only);
        }
        out.end_arr();
        out.end_obj();
    }
    out.end_arr();
    if more && let Some(last) = entries.last() {
        let cursor = format!(
            "{}|{}|{}",
            super::jql::nanos(last.history.created),
            last.issue.id,
            last.index
        );
        out.kv_str("nextPageToken", &encode_token(&hash, &cursor));
    }
    out.end_obj();
    ok_items(out, entries.len())
}
