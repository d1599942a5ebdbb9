//! CSV downloads (`?format=csv`): written and sent a page of rows at a time, so a long list
//! never sits in memory whole, and quoted by the `csv` crate (commas, quotes and line breaks in
//! summaries and titles stay inside their field).

use std::future::Future;

use actix_web::HttpResponse;
use actix_web::web::Bytes;
use futures_util::stream::{self, StreamExt};

/// Rows read per database page.
pub const PAGE_ROWS: u64 = 500;

/// Whether the query asked for CSV.
pub fn wanted(format: Option<&str>) -> bool {
    format.is_some_and(|f| f.eq_ignore_ascii_case("csv"))
}

fn encode(rows: &[Vec<String>]) -> Result<Bytes, actix_web::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.write_record(row)
            .map_err(actix_web::error::ErrorInternalServerError)?;
    }
    let bytes = w.into_inner().map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(Bytes::from(bytes))
}

/// A download named `filename`: the header, then the pages `next_page(0)`, `next_page(1)`, …
/// until one comes back empty. A failed page ends the download early (the client sees a
/// truncated body; the error is logged).
pub fn download<F, Fut>(filename: &str, header: &[&str], mut next_page: F) -> HttpResponse
where
    F: FnMut(u64) -> Fut + 'static,
    Fut: Future<Output = anyhow::Result<Vec<Vec<String>>>> + 'static,
{
    let head = encode(&[header.iter().map(|h| h.to_string()).collect()]);
    let pages = stream::unfold(Some(0u64), move |page| {
        let next = page.map(&mut next_page);
        async move {
            let rows = match next?.await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "CSV download cut short");
                    return Some((Err(actix_web::error::ErrorInternalServerError("database error")), None));
                }
            };
            if rows.is_empty() {
                return None;
            }
            Some((encode(&rows), page.map(|p| p + 1)))
        }
    });
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(stream::once(async { head }).chain(pages))
}

/// A download of rows already in memory (a report's drill-down list), sent a page at a time.
pub fn rows(filename: &str, header: &[&str], rows: Vec<Vec<String>>) -> HttpResponse {
    let rows = std::rc::Rc::new(rows);
    download(filename, header, move |page| {
        let rows = rows.clone();
        async move {
            let size = PAGE_ROWS as usize;
            let start = (page as usize).saturating_mul(size).min(rows.len());
            Ok(rows[start..(start + size).min(rows.len())].to_vec())
        }
    })
}

/// Whether the query string asks for CSV (`format=csv`).
pub fn wanted_in(query: &str) -> bool {
    url::form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "format" && wanted(Some(&v)))
}

/// Hours with two decimals, empty when unknown.
pub fn hours(h: Option<f64>) -> String {
    h.map(|h| format!("{h:.2}")).unwrap_or_default()
}

/// An optional value as a field (empty when absent).
pub fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}
