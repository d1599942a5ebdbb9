//! Flow pages (placeholder).
