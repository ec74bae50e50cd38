//! hotplug integration tests: real scenario first, then generated cases and bad input.
mod generated;
mod import;
mod real;
