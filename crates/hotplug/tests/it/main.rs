//! hotplug integration tests: real scenario first, then generated cases and bad input.
mod check;
mod generated;
mod hostile;
mod import;
mod real;
