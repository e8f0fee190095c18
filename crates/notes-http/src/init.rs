//! A note function's start-up: the notes service over the store the environment describes.

use notes::{AnyStore, ConfigError, NotesService, StoreConfig};

/// Why a function could not start: its configuration is missing or invalid.
///
/// The message names what to fix; a function's `main` prints it and exits non-zero, and
/// Lambda reports it as an init error.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The store configuration in the environment is missing or invalid.
    #[error("invalid notes store configuration: {0}")]
    Config(#[from] ConfigError),
}

/// Builds the notes service over the store the process environment describes (see
/// `notes::config` for the variables), failing at init on bad configuration.
pub async fn notes_service_from_env() -> Result<NotesService<AnyStore>, InitError> {
    notes_service_from_vars(|name| std::env::var(name).ok()).await
}

/// A note function's start-up: installs the JSON log subscriber, then builds the notes service
/// from the environment; a configuration error is logged once, clearly, and returned so that
/// `main` exits non-zero (Lambda reports it as an init error).
pub async fn init_notes_function() -> Result<NotesService<AnyStore>, InitError> {
    http_api::init_tracing();
    notes_service_from_env()
        .await
        .inspect_err(|error| tracing::error!(%error, "function init failed"))
}

/// [`notes_service_from_env`] with the variables read through `var` (for tests).
pub async fn notes_service_from_vars(
    var: impl Fn(&str) -> Option<String>,
) -> Result<NotesService<AnyStore>, InitError> {
    let config = StoreConfig::from_vars(var)?;
    let store = AnyStore::from_config(&config).await?;
    Ok(NotesService::new(store))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn service_from_vars() {
        let Err(error) = notes_service_from_vars(|_| None).await else {
            panic!("an unconfigured store must fail at init");
        };
        let message = error.to_string();
        assert!(
            message.starts_with("invalid notes store configuration: "),
            "{message}"
        );
        assert!(message.contains("NOTES_TABLE"), "{message}");

        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().join("notes");
        let vars = |name: &str| match name {
            "NOTES_STORE" => Some("fs".to_owned()),
            "NOTES_DIR" => Some(root.display().to_string()),
            _ => None,
        };
        let service = notes_service_from_vars(vars).await;
        assert!(service.is_ok(), "{:?}", service.err());
        assert!(root.is_dir());
    }
}
