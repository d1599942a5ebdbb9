//! Cutting multi-row statements to a size both databases handle fast.

/// Rows per multi-row statement, at most (and under SQLite's parameter limit).
pub const CHUNK: usize = 100;
/// Data per multi-row statement, about: a bound on one statement's size (a PR body can be large),
/// as for Jira's JSON statements. With `TCP_NODELAY` (vendor/README.md) larger statements no
/// longer stall, and 64 KiB was faster than the 8 KiB chosen when they did (docs/decisions.md,
/// "Statement sizes").
pub const STATEMENT_BYTES: usize = 64 * 1024;
/// Estimated bytes of a fixed-size column (numbers, times, flags) in a statement.
pub const FIXED: usize = 8;

/// Cuts `rows` (each with its estimated size in bytes) into statements of at most [`CHUNK`]
/// rows and about [`STATEMENT_BYTES`] (a larger row goes alone).
pub fn batches<T>(rows: Vec<(usize, T)>) -> Vec<Vec<T>> {
    batches_of(rows, CHUNK, STATEMENT_BYTES)
}

/// Cuts `rows` into groups of at most `max_rows` rows and about `max_bytes` (a larger row goes
/// alone).
pub fn batches_of<T>(rows: Vec<(usize, T)>, max_rows: usize, max_bytes: usize) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut bytes = 0;
    for (size, row) in rows {
        match out.last_mut() {
            Some(last) if last.len() < max_rows && bytes + size <= max_bytes => {
                bytes += size;
                last.push(row);
            }
            _ => {
                bytes = size;
                out.push(vec![row]);
            }
        }
    }
    out
}

/// Estimated bytes of optional text.
pub fn text(s: &Option<String>) -> usize {
    s.as_ref().map_or(0, String::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_cut_by_rows_and_by_size() {
        let rows: Vec<(usize, u32)> = (0..250).map(|i| (10, i)).collect();
        let sizes: Vec<usize> = batches(rows).iter().map(Vec::len).collect();
        assert_eq!(sizes, [100, 100, 50]);
        let rows = vec![(40_000, 1), (40_000, 2), (100_000, 3), (10, 4)];
        let got = batches(rows);
        assert_eq!(got, vec![vec![1], vec![2], vec![3], vec![4]]);
        assert!(batches::<u8>(Vec::new()).is_empty());
    }
}
