//! End-to-end tests live in `tests/e2e/` (one module per flow, driving a real server over a
//! socket through `portcullis-testkit`); this crate has no library code.

#![forbid(unsafe_code)]
