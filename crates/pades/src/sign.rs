//! Signing (being written).
