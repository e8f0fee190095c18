//! The notes glue of the note functions: what `GET/POST /notes` and `/notes/{id}` and
//! `GET /admin/stats` share on top of the generic HTTP layer (`http-api`) and the domain
//! (`notes`).
//!
//! - [`notes_main!`] and [`init_notes_function`]: a note function's `main` and start-up, with
//!   the domain service configured from the environment ([`notes_service_from_env`]);
//! - [`caller`], [`note_id`], [`note_response`], [`note_created`]: the caller as an
//!   [`Owner`](notes::Owner), the `{id}` path parameter, a note answered with its `ETag`;
//! - [`problem`]: the problem a notes error is answered with (404, 409, 412, 503, ...);
//! - [`AdminStats`]: the body of `GET /admin/stats`; feature `openapi` gives it
//!   `utoipa::ToSchema` (crates/api-spec);
//! - `testing` (feature `testing`): a service on a temporary filesystem store, seeded notes.
//!
//! # What is here and what is in `http-api`
//!
//! Everything that names a `notes` type is here, so that the functions that need no notes
//! (`health`, `me`) link neither `notes` nor the AWS SDK of its DynamoDB store. What only needs the
//! Cognito claims stays in `http-api`: the `ClaimsError` to `Problem` conversion (the orphan
//! rule puts it in the crate of `Problem` or of `ClaimsError`) and the body of `GET /me`
//! (`http_api::Me`), next to the body of `GET /health`; `cognito-claims` without its `verify`
//! feature costs `http-api` nothing it does not link already.
//!
//! This crate does not choose the store backends: it depends on `notes` without features. A
//! note function enables `notes/s3`, so that `NOTES_STORE=s3` (the deployed store) works.
//!
//! A note function is:
//!
//! ```no_run
//! use http_api::{Reply, Request};
//! use notes_http::Notes;
//!
//! notes_http::notes_main!(handler);
//!
//! async fn handler(service: &Notes, req: Request) -> Reply {
//!     let (_, owner) = notes_http::caller(&req)?;
//!     let id = notes_http::note_id(&req)?;
//!     let note = service.get(&owner, &id).await.map_err(notes_http::problem)?;
//!     Ok(notes_http::note_response(200, &note))
//! }
//! ```

mod bodies;
mod init;
mod problem;
mod routes;
#[cfg(feature = "testing")]
pub mod testing;

pub use crate::{
    bodies::AdminStats,
    init::{InitError, init_notes_function, notes_service_from_env, notes_service_from_vars},
    problem::problem,
    routes::{caller, note_created, note_id, note_response},
};

/// The notes service a note function's handler is given: over the store the environment chose.
pub type Notes = notes::NotesService<notes::AnyStore>;

/// What [`notes_main!`] expands to refers to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use http_api::{LambdaError, run};

    /// The runtime `#[tokio::main]` would build: multi-threaded, I/O and time enabled.
    pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    }
}

/// The whole `main` of a function that works on notes: on a multi-threaded tokio runtime,
/// [`init_notes_function`], then `http_api::run` with `handler(&service, request)` for every
/// request. The function crate needs no `tokio` dependency of its own for it.
///
/// ```text
/// notes_http::notes_main!(handler);
/// async fn handler(service: &notes_http::Notes, req: Request) -> http_api::Reply { … }
/// ```
#[macro_export]
macro_rules! notes_main {
    ($handler:ident) => {
        fn main() -> ::std::result::Result<(), $crate::__private::LambdaError> {
            $crate::__private::runtime()?.block_on(async {
                let service = $crate::init_notes_function().await?;
                $crate::__private::run(|req| $handler(&service, req)).await
            })
        }
    };
}
