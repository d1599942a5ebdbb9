//! Reading the environment: one reader for every command (`serve`, `demo`, `sync`, `migrate`,
//! `rotate-key`), so a variable means the same everywhere and every problem is reported, not
//! dropped or replaced by a default.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use secrecy::{SecretBox, SecretString};

use super::{ConfigError, ENCRYPTION_KEY_BYTES, decode_key};

/// An AES-256 key.
pub type Key = SecretBox<[u8; ENCRYPTION_KEY_BYTES]>;

/// The credential keys: the current one, and old ones still accepted for reading.
pub struct Keys {
    pub current: Key,
    pub previous: Vec<Key>,
}

/// Where values come from: the process environment, or a map in the demo and tests.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// A key → value lookup that collects every problem it meets.
pub struct Env<'a> {
    get: Lookup<'a>,
    problems: Vec<String>,
}

impl<'a> Env<'a> {
    pub fn new(get: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Self {
            get: Box::new(get),
            problems: Vec::new(),
        }
    }

    /// The process environment, after reading `.env` if there is one.
    pub fn process() -> Env<'static> {
        let _ = dotenvy::dotenv();
        Env::new(|key| std::env::var(key).ok())
    }

    /// The value, trimmed; unset and blank are the same.
    pub fn value(&self, key: &str) -> Option<String> {
        (self.get)(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    pub fn problem(&mut self, message: impl Into<String>) {
        self.problems.push(message.into());
    }

    pub fn required(&mut self, key: &str) -> Option<String> {
        let v = self.value(key);
        if v.is_none() {
            self.problem(format!("{key} is required"));
        }
        v
    }

    /// `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off` (any case); unset is false.
    pub fn flag(&mut self, key: &str) -> bool {
        match self.value(key).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => false,
            Some("1" | "true" | "yes" | "on") => true,
            Some("0" | "false" | "no" | "off") => false,
            Some(other) => {
                self.problem(format!("{key} must be true or false (got {other:?})"));
                false
            }
        }
    }

    /// A whole number in `range`; `note` explains a special value (e.g. "0 for no limit").
    pub fn number<T>(&mut self, key: &str, default: T, range: RangeInclusive<T>, note: &str) -> T
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let Some(v) = self.value(key) else {
            return default;
        };
        match v.parse::<T>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                let note = if note.is_empty() {
                    String::new()
                } else {
                    format!(", {note}")
                };
                self.problem(format!(
                    "{key} must be a whole number {}–{}{note} (got {v:?})",
                    range.start(),
                    range.end()
                ));
                default
            }
        }
    }

    /// Whole seconds in `range`.
    pub fn seconds(&mut self, key: &str, default: Duration, range: RangeInclusive<u64>) -> Duration {
        Duration::from_secs(self.number(key, default.as_secs(), range, ""))
    }

    /// `DATABASE_URL`: `sqlite:…` or `postgres://…`.
    pub fn database_url(&mut self) -> Option<SecretString> {
        let url = self.required("DATABASE_URL")?;
        if url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(SecretString::from(url))
        } else {
            self.problem("DATABASE_URL must start with sqlite: or postgres://");
            None
        }
    }

    /// `ENCRYPTION_KEY` (required) and `ENCRYPTION_KEY_PREVIOUS` (comma-separated; every entry
    /// must be a key, a bad one is named, never skipped).
    pub fn encryption_keys(&mut self) -> Option<Keys> {
        let current = self.required("ENCRYPTION_KEY").and_then(|raw| match decode_key(&raw) {
            Ok(k) => Some(k),
            Err(why) => {
                self.problem(format!("ENCRYPTION_KEY {why}"));
                None
            }
        });
        let mut previous = Vec::new();
        let list = self.value("ENCRYPTION_KEY_PREVIOUS").unwrap_or_default();
        for (i, item) in list.split(',').map(str::trim).filter(|s| !s.is_empty()).enumerate() {
            match decode_key(item) {
                Ok(k) => previous.push(SecretBox::new(Box::new(k))),
                Err(why) => self.problem(format!("ENCRYPTION_KEY_PREVIOUS entry {} {why}", i + 1)),
            }
        }
        Some(Keys {
            current: SecretBox::new(Box::new(current?)),
            previous,
        })
    }

    /// The settings if nothing was wrong, else every problem at once.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ConfigError> {
        match value {
            Some(v) if self.problems.is_empty() => Ok(v),
            _ => Err(ConfigError(self.problems)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&'static str, &str)]) -> HashMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn flags_numbers_and_keys_follow_one_set_of_rules() {
        let map = env(&[
            ("A", "on"),
            ("B", "Off"),
            ("C", "maybe"),
            ("N", "700"),
            ("ENCRYPTION_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            (
                "ENCRYPTION_KEY_PREVIOUS",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, not-a-key",
            ),
        ]);
        let mut e = Env::new(|k| map.get(k).cloned());
        assert!(e.flag("A"));
        assert!(!e.flag("B"));
        assert!(!e.flag("C"));
        assert_eq!(e.number("N", 30u64, 1..=600, ""), 30);
        assert!(e.encryption_keys().is_some());
        let problems = e.finish(Some(())).unwrap_err().to_string();
        assert!(problems.contains("C must be true or false"), "{problems}");
        assert!(problems.contains("N must be a whole number 1–600"), "{problems}");
        assert!(problems.contains("ENCRYPTION_KEY_PREVIOUS entry 2"), "{problems}");
    }
}
