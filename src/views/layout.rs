//! The page shell: head, navigation, user menu.

use maud::{DOCTYPE, Markup, html};

use super::assets;
use crate::auth::CurrentUser;

/// htmx settings that keep it inside our CSP (no eval, no inline styles: settling copies only
/// `class`, since copying `style` is an inline style) and keep page snapshots out of
/// localStorage; 422 answers are swapped so forms show their errors.
const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"attributesToSettle":["class"],"allowEval":false,"allowScriptTags":false,"historyCacheSize":0,"selfRequestsOnly":true,"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"422","swap":true},{"code":"[45]..","swap":false,"error":true}]}"#;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Dashboard,
    Integrations,
    Flow,
    Analytics,
    Teams,
}

/// Sections of the navigation; `ready` is false until a section's pages exist.
const SECTIONS: &[(Nav, &str, &str, bool)] = &[
    (Nav::Dashboard, "Dashboard", "/", true),
    (Nav::Integrations, "Integrations", "/integrations", true),
    (Nav::Flow, "Flow", "/flow", true),
    (Nav::Analytics, "Analytics", "/analytics/dora", true),
    (Nav::Teams, "Teams", "/teams", true),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="htmx-config" content=(HTMX_CONFIG);
            title { (title) " · pulse-etl" }
            link rel="icon" type="image/svg+xml" href=(assets::url("favicon.svg"));
            link rel="stylesheet" href=(assets::url("app.css"));
            script src=(assets::url("htmx.min.js")) defer {}
            script src=(assets::url("app.js")) defer {}
        }
    }
}

fn brand() -> Markup {
    html! {
        a.brand href="/" {
            span.brand-mark aria-hidden="true" { "◆" }
            span { "pulse" b { "etl" } }
        }
    }
}

/// A full page for a logged-in user.
pub fn page(title: &str, user: &CurrentUser, active: Nav, body: Markup) -> Markup {
    let hx_headers = serde_json::json!({ crate::auth::csrf::HEADER: user.csrf }).to_string();
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body hx-headers=(hx_headers) {
                a.skip-link href="#main" { "Skip to content" }
                header.topbar {
                    (brand())
                    nav.mainnav aria-label="Main" {
                        ul {
                            @for (nav, label, href, ready) in SECTIONS {
                                li {
                                    @if !*ready {
                                        span.navlink.disabled aria-disabled="true" title="Not available in this version yet" { (label) }
                                    } @else if *nav == active {
                                        a.navlink.active href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a.navlink href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                    details.usermenu {
                        summary {
                            span.avatar aria-hidden="true" { (initials(&user.user.display_name())) }
                            span.username { (user.user.display_name()) }
                            @if user.is_admin() { span.role { "admin" } } @else { span.role { "viewer" } }
                        }
                        div.usermenu-panel {
                            p.muted { (user.user.email) }
                            form method="post" action="/logout" {
                                input type="hidden" name=(crate::auth::csrf::FORM_FIELD) value=(user.csrf);
                                button.button.secondary type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main #main { (body) }
                footer.footer { "pulse-etl " (env!("CARGO_PKG_VERSION")) " · " a href="/json-api" { "JSON API" } }
            }
        }
    }
}

/// A page without navigation (login, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                header.topbar { (brand()) }
                (body)
            }
        }
    }
}

fn initials(name: &str) -> String {
    name.split(|c: char| c.is_whitespace() || c == '@' || c == '.')
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}
