//! Our parsers read what the real services sent: recorded responses in `tests/fixtures/`.
#![allow(clippy::unwrap_used)]

mod jira;

/// The `data` column of a DevLake raw-table CSV: one recorded API item per row.
pub fn devlake_items(file: &str) -> Vec<serde_json::Value> {
    let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let headers = reader.headers().unwrap().clone();
    let col = headers.iter().position(|h| h == "data").expect("data column");
    reader
        .records()
        .map(|r| serde_json::from_str(&r.unwrap()[col]).unwrap())
        .collect()
}
