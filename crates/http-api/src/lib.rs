//! Shared HTTP layer.
