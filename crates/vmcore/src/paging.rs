//! x86_64 virtual-to-physical translation from vmcoreinfo alone (placeholder; issue 5).
