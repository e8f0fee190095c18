//! The body of `GET /admin/stats` ([`AdminStats`]). With feature `openapi` it implements
//! `utoipa::ToSchema`, so the contract describes exactly what the function serializes.

use serde::Serialize;

/// The body of `GET /admin/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminStats {
    /// How many notes are stored, across all users.
    pub notes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape() {
        assert_eq!(
            serde_json::to_value(AdminStats { notes: 3 }).ok(),
            Some(serde_json::json!({ "notes": 3 }))
        );
    }
}
