//! Tests: klog.
