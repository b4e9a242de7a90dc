//! CMS (being written).
