//! Tests: kdump.
