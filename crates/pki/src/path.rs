//! Path validation (being written).
