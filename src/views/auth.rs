use maud::{Markup, html};

use super::layout;
use crate::auth::csrf;
use crate::auth::throttle::FREE_FAILURES_PER_EMAIL;

pub struct LoginForm<'a> {
    pub csrf: &'a str,
    pub next: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
    pub notice: Option<&'a str>,
}

pub fn login(form: &LoginForm<'_>) -> Markup {
    layout::bare(
        "Log in",
        html! {
            main.narrow #main {
                section.card.login-card {
                    h1 { "Log in" }
                    p.muted { "Use your Pulse Platform account." }
                    @if let Some(notice) = form.notice { p.notice role="status" { (notice) } }
                    @if let Some(error) = form.error { p.form-error role="alert" #login-error { (error) } }
                    form method="post" action="/login" {
                        input type="hidden" name=(csrf::FORM_FIELD) value=(form.csrf);
                        input type="hidden" name="next" value=(form.next);
                        div.field {
                            label for="email" { "Email" }
                            input #email type="email" name="email" value=(form.email) required autocomplete="username" autofocus;
                        }
                        div.field {
                            label for="password" { "Password" }
                            input #password type="password" name="password" required autocomplete="current-password";
                        }
                        button.button.primary type="submit" { "Log in" }
                    }
                    p.muted.small #login-throttle-note {
                        "After " (FREE_FAILURES_PER_EMAIL) " wrong passwords for one account, signing in to it pauses for a moment, "
                        "and longer with each further attempt."
                    }
                }
            }
        },
    )
}

pub fn logout_confirm(csrf: &str) -> Markup {
    layout::bare(
        "Log out",
        html! {
            main.narrow #main {
                section.card {
                    h1 { "Log out?" }
                    form method="post" action="/logout" {
                        input type="hidden" name=(csrf::FORM_FIELD) value=(csrf);
                        button.button.primary type="submit" { "Log out" }
                        " "
                        a.button.secondary href="/" { "Cancel" }
                    }
                }
            }
        },
    )
}
