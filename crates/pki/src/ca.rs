//! Certificate authority (being written).
