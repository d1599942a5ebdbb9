//! Things open at once per key (connections per client address, WebSockets per user).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Counts per key; each count is held by a [`Slot`] and given back when the slot is dropped.
#[derive(Debug)]
pub struct PerKey<K: Hash + Eq> {
    open: Arc<Mutex<HashMap<K, usize>>>,
}

impl<K: Hash + Eq> Default for PerKey<K> {
    fn default() -> Self {
        Self { open: Arc::default() }
    }
}

impl<K: Hash + Eq> Clone for PerKey<K> {
    fn clone(&self) -> Self {
        Self {
            open: self.open.clone(),
        }
    }
}

/// One counted thing; the count goes down when it is dropped.
#[derive(Debug)]
pub struct Slot<K: Hash + Eq> {
    key: K,
    /// How many were open for the key, this one included, when it was taken.
    pub count: usize,
    open: Arc<Mutex<HashMap<K, usize>>>,
}

impl<K: Hash + Eq + Clone> PerKey<K> {
    pub fn take(&self, key: K) -> Slot<K> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(key.clone()).or_default();
        *n += 1;
        Slot {
            key,
            count: *n,
            open: self.open.clone(),
        }
    }

    pub fn count(&self, key: &K) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(key).copied().unwrap_or(0)
    }
}

impl<K: Hash + Eq> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_go_back_down_when_slots_are_dropped() {
        let c = PerKey::<&str>::default();
        let a = c.take("x");
        let b = c.take("x");
        assert_eq!((a.count, b.count), (1, 2));
        drop(a);
        assert_eq!(c.count(&"x"), 1);
        drop(b);
        assert_eq!(c.count(&"x"), 0);
        assert_eq!(c.take("x").count, 1);
    }
}
