//! Verification (being written).
