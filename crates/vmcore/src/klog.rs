//! The kernel log (printk ring buffer) from vmcoreinfo alone (placeholder; issue 5).
