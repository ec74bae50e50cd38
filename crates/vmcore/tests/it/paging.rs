//! Tests: paging.
