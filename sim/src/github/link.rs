//! REST plumbing: query parameters as GitHub reads them (repeated ones: the last wins), page
//! arithmetic, `Link` headers as GitHub writes them, and `ETag` / `If-None-Match` → 304.

use std::ops::Range;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use super::render::hex;

/// The decoded query parameters of a request, in order, repeats kept.
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: &str) -> Self {
        Self {
            pairs: url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    pub fn from_request(req: &HttpRequest) -> Self {
        Self::parse(req.query_string())
    }

    /// The value of `key`; when a client repeats it (`per_page=2&per_page=10`) the last one.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Non-empty value of `key`.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }
}

/// `per_page` (1–100, default 30) and `page` (from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub per_page: usize,
    pub page: usize,
}

pub const DEFAULT_PER_PAGE: usize = 30;
pub const MAX_PER_PAGE: usize = 100;

impl Paging {
    pub fn from_query(q: &Query) -> Self {
        let per_page = match q.get("per_page").map(|v| v.trim().parse::<i64>()) {
            Some(Ok(n)) if n >= 1 => (n as usize).min(MAX_PER_PAGE),
            _ => DEFAULT_PER_PAGE,
        };
        let page = match q.get("page").map(|v| v.trim().parse::<i64>()) {
            Some(Ok(n)) if n >= 1 => n as usize,
            _ => 1,
        };
        Self { per_page, page }
    }

    /// The slice of `0..total` this page covers (empty past the end).
    pub fn range(&self, total: usize) -> Range<usize> {
        let start = (self.page - 1).saturating_mul(self.per_page).min(total);
        let end = start.saturating_add(self.per_page).min(total);
        start..end
    }

    pub fn last_page(&self, total: usize) -> usize {
        total.div_ceil(self.per_page).max(1)
    }
}

/// The request's query with every `page` parameter replaced by `page=N` (at the place of the
/// first one, or appended), everything else repeated verbatim as the client sent it.
pub fn query_with_page(raw_query: &str, page: usize) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut placed = false;
    for seg in raw_query.split('&').filter(|s| !s.is_empty()) {
        let key = seg.split_once('=').map_or(seg, |(k, _)| k);
        let is_page = url::form_urlencoded::parse(key.as_bytes())
            .next()
            .is_some_and(|(k, _)| k == "page");
        if is_page {
            if !placed {
                out.push(format!("page={page}"));
                placed = true;
            }
        } else {
            out.push(seg.to_string());
        }
    }
    if !placed {
        out.push(format!("page={page}"));
    }
    out.join("&")
}

/// GitHub's `Link` header for `total` items: `prev`, `next`, `last`, `first` in that order,
/// each when it applies; `None` when everything fits on one page.
pub fn link_header(origin: &str, path: &str, raw_query: &str, paging: Paging, total: usize) -> Option<String> {
    let last = paging.last_page(total);
    if last <= 1 && paging.page <= 1 {
        return None;
    }
    let url = |page: usize| format!("<{origin}{path}?{}>", query_with_page(raw_query, page));
    let mut rels = Vec::new();
    if paging.page > 1 {
        rels.push(format!("{}; rel=\"prev\"", url((paging.page - 1).min(last))));
    }
    if paging.page < last {
        rels.push(format!("{}; rel=\"next\"", url(paging.page + 1)));
        rels.push(format!("{}; rel=\"last\"", url(last)));
    }
    if paging.page > 1 {
        rels.push(format!("{}; rel=\"first\"", url(1)));
    }
    (!rels.is_empty()).then(|| rels.join(", "))
}

/// The `Link` header for this request.
pub fn link_for(req: &HttpRequest, origin: &str, paging: Paging, total: usize) -> Option<String> {
    link_header(origin, req.path(), req.query_string(), paging, total)
}

/// A weak validator over the body, as GitHub sends for JSON: `W/"<sha256 hex>"`.
pub fn etag(body: &[u8]) -> String {
    format!("W/\"{}\"", hex(&Sha256::digest(body)))
}

/// Whether `If-None-Match` (weak comparison; lists and `*` allowed) matches `tag`.
pub fn none_match(req: &HttpRequest, tag: &str) -> bool {
    let strip = |t: &str| {
        let t = t.trim();
        t.strip_prefix("W/").unwrap_or(t).to_string()
    };
    let ours = strip(tag);
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || strip(t) == ours)
}

/// A 200 JSON answer with GitHub's headers (ETag, Link, cache), or 304 with an empty body
/// when the client already has it.
pub fn json_answer(req: &HttpRequest, body: Vec<u8>, link: Option<String>) -> HttpResponse {
    let tag = etag(&body);
    let not_modified = none_match(req, &tag);
    let status = if not_modified {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "private, max-age=60, s-maxage=60"))
        .insert_header((
            header::VARY,
            "Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding, X-Requested-With",
        ))
        .insert_header(("x-github-media-type", "github.v3; format=json"))
        .insert_header(("x-github-api-version-selected", "2022-11-28"))
        .insert_header((
            "access-control-expose-headers",
            "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset",
        ));
    if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        res.insert_header((header::LINK, link));
    }
    if not_modified {
        res.finish()
    } else {
        res.content_type("application/json; charset=utf-8").body(body)
    }
}

/// A JSON array page with its Link header.
pub fn page_answer(
    req: &HttpRequest,
    origin: &str,
    paging: Paging,
    total: usize,
    items: Vec<serde_json::Value>,
) -> HttpResponse {
    let body = serde_json::to_vec(&items).unwrap_or_else(|_| b"[]".to_vec());
    json_answer(req, body, link_for(req, origin, paging, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_is_replaced_in_place_and_others_repeated() {
        assert_eq!(query_with_page("per_page=3", 2), "per_page=3&page=2");
        assert_eq!(query_with_page("page=1&per_page=3", 2), "page=2&per_page=3");
        assert_eq!(
            query_with_page("per_page=2&page=1&per_page=10&page=3", 4),
            "per_page=2&page=4&per_page=10"
        );
        assert_eq!(query_with_page("", 5), "page=5");
        assert_eq!(
            query_with_page("created=%3E%3D2024-01-01&page=2", 3),
            "created=%3E%3D2024-01-01&page=3"
        );
    }

    #[test]
    fn links_follow_github_order() {
        let p = |page| Paging { per_page: 3, page };
        let l = |page| link_header("https://h", "/x", "per_page=3", p(page), 13);
        assert_eq!(
            l(1).unwrap(),
            "<https://h/x?per_page=3&page=2>; rel=\"next\", <https://h/x?per_page=3&page=5>; rel=\"last\""
        );
        assert_eq!(
            l(2).unwrap(),
            "<https://h/x?per_page=3&page=1>; rel=\"prev\", <https://h/x?per_page=3&page=3>; rel=\"next\", <https://h/x?per_page=3&page=5>; rel=\"last\", <https://h/x?per_page=3&page=1>; rel=\"first\""
        );
        assert_eq!(
            l(5).unwrap(),
            "<https://h/x?per_page=3&page=4>; rel=\"prev\", <https://h/x?per_page=3&page=1>; rel=\"first\""
        );
        assert_eq!(link_header("https://h", "/x", "", p(1), 3), None);
        assert_eq!(link_header("https://h", "/x", "", p(1), 0), None);
    }

    #[test]
    fn repeated_params_last_wins() {
        let q = Query::parse("per_page=2&per_page=10&page=x");
        assert_eq!(Paging::from_query(&q), Paging { per_page: 10, page: 1 });
        let q = Query::parse("per_page=1000&page=3");
        assert_eq!(Paging::from_query(&q).per_page, 100);
    }
}
