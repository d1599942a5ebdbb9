//! A small append-only JSON writer. Issue pages are the simulator's hot path (10k+ issues/s
//! with changelogs), so they are written straight into one buffer, and fragments that repeat
//! on every issue (users, statuses, projects) are rendered once per request and copied in.

use chrono::{DateTime, Datelike, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

#[derive(Default)]
pub struct Out {
    pub buf: String,
}

impl Out {
    pub fn with_capacity(n: usize) -> Self {
        Self {
            buf: String::with_capacity(n),
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf.into_bytes()
    }

    /// A comma unless this is the first member/element of the current object/array.
    #[inline]
    fn comma(&mut self) {
        if !matches!(self.buf.as_bytes().last(), None | Some(b'{' | b'[' | b':')) {
            self.buf.push(',');
        }
    }

    #[inline]
    pub fn begin_obj(&mut self) {
        self.comma();
        self.buf.push('{');
    }

    #[inline]
    pub fn end_obj(&mut self) {
        self.buf.push('}');
    }

    #[inline]
    pub fn begin_arr(&mut self) {
        self.comma();
        self.buf.push('[');
    }

    #[inline]
    pub fn end_arr(&mut self) {
        self.buf.push(']');
    }

    /// An object key; `k` must not need escaping (the simulator's own field names).
    #[inline]
    pub fn key(&mut self, k: &str) {
        self.comma();
        self.buf.push('"');
        self.buf.push_str(k);
        self.buf.push_str("\":");
    }

    /// A pre-rendered JSON value (as a member value or an array element).
    #[inline]
    pub fn raw(&mut self, json: &str) {
        self.comma();
        self.buf.push_str(json);
    }

    #[inline]
    pub fn str(&mut self, s: &str) {
        self.comma();
        escape_into(&mut self.buf, s);
    }

    /// A string assembled from parts (e.g. a URL), escaped as one.
    pub fn str_parts(&mut self, parts: &[&str]) {
        self.comma();
        self.buf.push('"');
        for p in parts {
            escape_body(&mut self.buf, p);
        }
        self.buf.push('"');
    }

    pub fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.null(),
        }
    }

    pub fn null(&mut self) {
        self.comma();
        self.buf.push_str("null");
    }

    pub fn bool(&mut self, b: bool) {
        self.comma();
        self.buf.push_str(if b { "true" } else { "false" });
    }

    pub fn int(&mut self, n: i64) {
        self.comma();
        push_int(&mut self.buf, n);
    }

    /// Jackson's rendering of a double: `3.0`, `0.5`, `13.0`.
    pub fn float(&mut self, f: f64) {
        self.comma();
        if !f.is_finite() {
            self.buf.push_str("null");
        } else if f.fract() == 0.0 && f.abs() < 1e15 {
            self.buf.push_str(&format!("{f:.1}"));
        } else {
            self.buf.push_str(&format!("{f}"));
        }
    }

    /// Jira's timestamp, `2022-07-16T06:31:38.612+0800`, in `tz`.
    pub fn time(&mut self, t: &DateTime<Utc>, tz: &Tz) {
        self.comma();
        self.buf.push('"');
        push_jira_time(&mut self.buf, t, tz);
        self.buf.push('"');
    }

    pub fn opt_time(&mut self, t: Option<&DateTime<Utc>>, tz: &Tz) {
        match t {
            Some(t) => self.time(t, tz),
            None => self.null(),
        }
    }

    // Member shorthands.

    pub fn kv_str(&mut self, k: &str, v: &str) {
        self.key(k);
        self.str(v);
    }

    pub fn kv_opt_str(&mut self, k: &str, v: Option<&str>) {
        self.key(k);
        self.opt_str(v);
    }

    pub fn kv_bool(&mut self, k: &str, v: bool) {
        self.key(k);
        self.bool(v);
    }

    pub fn kv_int(&mut self, k: &str, v: i64) {
        self.key(k);
        self.int(v);
    }

    pub fn kv_raw(&mut self, k: &str, json: &str) {
        self.key(k);
        self.raw(json);
    }

    pub fn kv_url(&mut self, k: &str, parts: &[&str]) {
        self.key(k);
        self.str_parts(parts);
    }
}

pub fn escape_into(buf: &mut String, s: &str) {
    buf.push('"');
    escape_body(buf, s);
    buf.push('"');
}

fn escape_body(buf: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        buf.push_str(&s[start..i]);
        if esc.is_empty() {
            buf.push_str(&format!("\\u{b:04x}"));
        } else {
            buf.push_str(esc);
        }
        start = i + 1;
    }
    buf.push_str(&s[start..]);
}

fn push_int(buf: &mut String, n: i64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if neg {
        buf.push('-');
    }
    for &d in &tmp[i..] {
        buf.push(d as char);
    }
}

fn push_digits(buf: &mut String, n: u32, width: u32) {
    let mut div = 10u32.pow(width - 1);
    while div > 0 {
        buf.push((b'0' + ((n / div) % 10) as u8) as char);
        div /= 10;
    }
}

/// `2022-07-16T06:31:38.612+0800` (offset without a colon, milliseconds).
pub fn push_jira_time(buf: &mut String, t: &DateTime<Utc>, tz: &Tz) {
    let offset = if *tz == Tz::UTC {
        0
    } else {
        tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc()
    };
    let local = t.naive_utc() + chrono::Duration::seconds(i64::from(offset));
    let year = local.year();
    if (0..=9999).contains(&year) {
        push_digits(buf, year as u32, 4);
    } else {
        buf.push_str(&year.to_string());
    }
    buf.push('-');
    push_digits(buf, local.month(), 2);
    buf.push('-');
    push_digits(buf, local.day(), 2);
    buf.push('T');
    push_digits(buf, local.hour(), 2);
    buf.push(':');
    push_digits(buf, local.minute(), 2);
    buf.push(':');
    push_digits(buf, local.second(), 2);
    buf.push('.');
    push_digits(buf, (local.nanosecond() / 1_000_000).min(999), 3);
    buf.push(if offset < 0 { '-' } else { '+' });
    let abs = offset.unsigned_abs();
    push_digits(buf, abs / 3600, 2);
    push_digits(buf, (abs % 3600) / 60, 2);
}

pub fn jira_time(t: &DateTime<Utc>, tz: &Tz) -> String {
    let mut s = String::with_capacity(28);
    push_jira_time(&mut s, t, tz);
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn writes_valid_json_with_escapes_and_commas() {
        let mut o = Out::default();
        o.begin_obj();
        o.kv_str("a", "x\"y\\z\n\u{1}é");
        o.key("b");
        o.begin_arr();
        o.int(-12);
        o.float(3.0);
        o.float(0.5);
        o.begin_obj();
        o.end_obj();
        o.null();
        o.end_arr();
        o.kv_url("u", &["http://h", "/p?q=", "a\"b"]);
        o.end_obj();
        let v: serde_json::Value = serde_json::from_str(&o.buf).unwrap();
        assert_eq!(v["a"], "x\"y\\z\n\u{1}é");
        assert_eq!(v["b"], serde_json::json!([-12, 3.0, 0.5, {}, null]));
        assert_eq!(v["u"], "http://h/p?q=a\"b");
        assert!(o.buf.contains("3.0"));
    }

    #[test]
    fn formats_jira_timestamps_in_the_zone() {
        let t = DateTime::parse_from_rfc3339("2022-07-15T22:31:38.612Z")
            .unwrap()
            .with_timezone(&Utc);
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        assert_eq!(jira_time(&t, &sh), "2022-07-16T06:31:38.612+0800");
        assert_eq!(jira_time(&t, &Tz::UTC), "2022-07-15T22:31:38.612+0000");
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(jira_time(&t, &ny), "2022-07-15T18:31:38.612-0400");
        let kol: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(jira_time(&t, &kol), "2022-07-16T04:01:38.612+0530");
        // chrono's %z agrees.
        let chrono_fmt = t.with_timezone(&ny).format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string();
        assert_eq!(jira_time(&t, &ny), chrono_fmt);
    }
}
