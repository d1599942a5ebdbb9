//! `/json-api`: how to call the JSON API, every operation, and the link to its OpenAPI document.

use maud::{Markup, html};

/// One operation as the page lists it.
pub struct Operation {
    pub method: String,
    pub path: String,
    pub summary: String,
    pub admin: bool,
}

pub fn page(operations: &[Operation]) -> Markup {
    html! {
        div.page-head {
            div {
                h1 { "JSON API" }
                p.muted { "Everything the pages do, as JSON under " code { "/api/v1" } "." }
            }
            a.button href="/api/v1/openapi.json" download="pulse-etl-openapi.json" { "OpenAPI 3.1 document" }
        }
        section.card {
            h2 { "Calling it" }
            ul {
                li { "Send the Backend Service's token as " code { "Authorization: Bearer …" } ", or call from a logged-in browser with the session cookie (then changes also need the " code { "X-CSRF-Token" } " header the pages carry)." }
                li { "Reads need any logged-in user; every change needs an administrator." }
                li { "Refusals are " code { "{\"error\": \"…\"}" } " with a 4xx or 5xx status; a 422 also lists the failing " code { "fields" } "." }
                li { "Run histories (" code { "/api/v1/jobs/{job}/runs" } ") and the analytics pages' lists also come as CSV with " code { "format=csv" } "." }
                li { "The document at " a href="/api/v1/openapi.json" { code { "/api/v1/openapi.json" } } " describes each operation's parameters, bodies and answers; import it into any OpenAPI client generator." }
            }
        }
        section.card {
            div.card-head { h2 { "Operations" } span.count { (operations.len()) " operations" } }
            div.table-wrap {
                table.data {
                    thead { tr { th { "Method" } th { "Path" } th { "What it does" } th { "Who" } } }
                    tbody {
                        @for op in operations {
                            tr {
                                td { code { (op.method) } }
                                td { code { (op.path) } }
                                td { (op.summary) }
                                td { @if op.admin { "admins" } @else { "everyone" } }
                            }
                        }
                    }
                }
            }
        }
    }
}
