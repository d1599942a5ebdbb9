//! Flow pages.
