//! Per-user notes domain.
