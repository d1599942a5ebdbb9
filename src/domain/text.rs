//! What text users may store. Control characters (NUL, tabs, line breaks, escape, …) have no
//! place in a name: PostgreSQL text cannot hold NUL at all, SQLite stores it and every page
//! then carries it, and a line break in a one-line field breaks the tables it shows in.

/// Why a one-line value (a name, a URL, a pattern) cannot be stored, if it cannot. Besides the
/// control characters (`char::is_control`, Unicode's Cc), the line and paragraph separators
/// U+2028 and U+2029 break a line too (browsers, JavaScript and many terminals treat them as
/// line breaks), though Unicode does not class them as control characters.
pub fn single_line_problem(s: &str) -> Option<&'static str> {
    s.chars()
        .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
        .then_some("Remove the control characters (line breaks, tabs, NUL…); this field holds one line")
}

/// The same for text that may span lines (JQL): tabs and line breaks are fine, other control
/// characters are not.
pub fn multi_line_problem(s: &str) -> Option<&'static str> {
    s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .then_some("Remove the control characters (NUL, escape…)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_and_only_one_line_fields_refuse_line_breaks() {
        for bad in [
            "\u{0}",
            "a\u{0}b",
            "a\nb",
            "a\tb",
            "a\rb",
            "a\u{1b}[31m",
            "a\u{7f}",
            "a\u{85}b",
            "a\u{2028}b",
            "a\u{2029}b",
            "\u{2028}",
            "name\u{2029}",
        ] {
            assert!(single_line_problem(bad).is_some(), "{bad:?}");
        }
        // Other separators and format characters are text, not line breaks.
        assert!(single_line_problem("a\u{00a0}b\u{2027}c\u{202f}d\u{200d}e").is_none());
        // JQL may span lines, with either kind of line break.
        assert!(multi_line_problem("labels = x\u{2028}AND y = 1").is_none());
        assert!(single_line_problem("In Progress · 進行中 – ok").is_none());
        assert!(multi_line_problem("labels = x\n\tAND y = 1").is_none());
        assert!(multi_line_problem("labels = x\u{0}").is_some());
    }
}
