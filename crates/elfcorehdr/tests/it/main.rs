//! Integration tests for `elfcorehdr`: real-kernel oracles first, then properties and hostile input.

mod alloc_count;
mod cli_inputs;
mod files;
mod hostile;
mod kernels;
mod props;
mod real;
mod synth;
mod watch;
