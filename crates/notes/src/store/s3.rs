//! S3 store: one JSON object per note at `notes/{owner}/{id}.json`.
//!
//! - create: `PutObject` with `If-None-Match: *` (atomic create-if-absent);
//! - replace: `PutObject` with `If-Match: <object ETag read before>` (atomic compare-and-swap:
//!   a concurrent writer makes S3 answer 412, or 409 `ConditionalRequestConflict`);
//! - delete: `HeadObject`, then `DeleteObject` with `If-Match` (retried when the note changed
//!   in between), so only a delete that removed the note reports `true`;
//! - listing: `ListObjectsV2` under the owner's prefix, paginated; keys that are not
//!   `{ULID}.json` are ignored.

use std::sync::Arc;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;

use super::{Store, StorePage, Version, page_of_ids, parse_note_file_name};
use crate::error::{PutError, StoreError};
use crate::model::{Note, NoteId, Owner};

const BACKEND: &str = "s3";
const ROOT_PREFIX: &str = "notes/";
/// How often a delete is retried when the note keeps changing between HEAD and DELETE.
const DELETE_ATTEMPTS: usize = 5;

/// Notes stored as objects in an S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: Arc<str>,
}

impl S3Store {
    /// A store over `bucket`, using `client` (its region, credentials and endpoint).
    #[must_use]
    pub fn new(client: Client, bucket: String) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// The bucket name.
    #[must_use]
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn key(owner: &Owner, id: &NoteId) -> String {
        format!("{ROOT_PREFIX}{owner}/{id}.json")
    }

    fn body(note: &Note, operation: &'static str) -> Result<ByteStream, StoreError> {
        serde_json::to_vec(note)
            .map(ByteStream::from)
            .map_err(|e| StoreError::new(BACKEND, operation, format!("cannot serialize note: {e}")))
    }

    /// Lists every key under `prefix`, calling `visit` on each.
    async fn for_each_key(
        &self,
        prefix: String,
        operation: &'static str,
        mut visit: impl FnMut(&str) + Send,
    ) -> Result<(), StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(self.bucket.as_ref())
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error(operation, &e))?;
            for key in page.contents().iter().filter_map(|o| o.key()) {
                visit(key);
            }
        }
        Ok(())
    }
}

impl Store for S3Store {
    async fn put_new(&self, owner: &Owner, note: &Note) -> Result<(), PutError> {
        const OP: &str = "create a note";
        let result = self
            .client
            .put_object()
            .bucket(self.bucket.as_ref())
            .key(Self::key(owner, &note.id()))
            .content_type("application/json")
            .if_none_match("*")
            .body(Self::body(note, OP)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // 412: the key exists; 409: a concurrent conditional write to the same key.
            Err(e) if matches!(status(&e), Some(412 | 409)) => Err(PutError::AlreadyExists),
            Err(e) => Err(sdk_error(OP, &e).into()),
        }
    }

    async fn get(&self, owner: &Owner, id: &NoteId) -> Result<Option<(Note, Version)>, StoreError> {
        const OP: &str = "read a note";
        let result = self
            .client
            .get_object()
            .bucket(self.bucket.as_ref())
            .key(Self::key(owner, id))
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(sdk_error(OP, &e)),
        };
        let version = output
            .e_tag()
            .map(Version::new)
            .ok_or_else(|| StoreError::new(BACKEND, OP, "GetObject returned no ETag"))?;
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| {
                StoreError::unavailable(BACKEND, OP, format!("reading the object body: {e}"))
            })?
            .into_bytes();
        let note: Note = serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::new(
                BACKEND,
                OP,
                format!("{} is not a valid note: {e}", Self::key(owner, id)),
            )
        })?;
        if note.id() != *id {
            return Err(StoreError::new(
                BACKEND,
                OP,
                format!("{} holds note {}", Self::key(owner, id), note.id()),
            ));
        }
        Ok(Some((note, version)))
    }

    async fn put_if(&self, owner: &Owner, note: &Note, expected: &Version) -> Result<(), PutError> {
        const OP: &str = "replace a note";
        let result = self
            .client
            .put_object()
            .bucket(self.bucket.as_ref())
            .key(Self::key(owner, &note.id()))
            .content_type("application/json")
            .if_match(expected.as_str())
            .body(Self::body(note, OP)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // 412: the object changed; 409 ConditionalRequestConflict: a concurrent write.
            Err(e) if matches!(status(&e), Some(412 | 409)) => Err(PutError::PreconditionFailed),
            Err(e) if is_not_found(&e) => Err(PutError::NotFound),
            Err(e) => Err(sdk_error(OP, &e).into()),
        }
    }

    async fn delete(&self, owner: &Owner, id: &NoteId) -> Result<bool, StoreError> {
        const OP: &str = "delete a note";
        let key = Self::key(owner, id);
        for _ in 0..DELETE_ATTEMPTS {
            let head = self
                .client
                .head_object()
                .bucket(self.bucket.as_ref())
                .key(&key)
                .send()
                .await;
            let etag = match head {
                Ok(head) => head
                    .e_tag()
                    .map(str::to_owned)
                    .ok_or_else(|| StoreError::new(BACKEND, OP, "HeadObject returned no ETag"))?,
                Err(e) if is_not_found(&e) => return Ok(false),
                Err(e) => return Err(sdk_error(OP, &e)),
            };
            let deleted = self
                .client
                .delete_object()
                .bucket(self.bucket.as_ref())
                .key(&key)
                .if_match(etag)
                .send()
                .await;
            match deleted {
                Ok(_) => return Ok(true),
                Err(e) if is_not_found(&e) => return Ok(false),
                // Replaced between HEAD and DELETE: look again.
                Err(e) if matches!(status(&e), Some(412 | 409)) => {}
                Err(e) => return Err(sdk_error(OP, &e)),
            }
        }
        Err(StoreError::new(
            BACKEND,
            OP,
            format!("{key} kept changing during {DELETE_ATTEMPTS} delete attempts"),
        ))
    }

    async fn list_page(
        &self,
        owner: &Owner,
        before: Option<NoteId>,
        limit: usize,
    ) -> Result<StorePage, StoreError> {
        let prefix = format!("{ROOT_PREFIX}{owner}/");
        let mut ids = Vec::new();
        self.for_each_key(prefix.clone(), "list notes", |key| {
            if let Some(id) = key.strip_prefix(&prefix).and_then(parse_note_file_name) {
                ids.push(id);
            }
        })
        .await?;
        page_of_ids(ids, before, limit, move |id| async move {
            self.get(owner, &id).await
        })
        .await
    }

    async fn count_all(&self) -> Result<u64, StoreError> {
        let mut total: u64 = 0;
        self.for_each_key(ROOT_PREFIX.to_owned(), "count notes", |key| {
            let is_note = key
                .strip_prefix(ROOT_PREFIX)
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(owner, name)| {
                    Owner::new(owner).is_ok() && parse_note_file_name(name).is_some()
                });
            if is_note {
                total += 1;
            }
        })
        .await?;
        Ok(total)
    }
}

/// The HTTP status of a failed request, when a response arrived.
fn status<E>(err: &SdkError<E>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

fn is_not_found<E>(err: &SdkError<E>) -> bool {
    status(err) == Some(404)
}

/// A failed request as a store error: unavailable (HTTP 503) when S3 could not be reached or
/// used right now, a bug (HTTP 500) otherwise; see [`is_unavailable`].
fn sdk_error<E>(operation: &'static str, err: &SdkError<E>) -> StoreError
where
    E: std::error::Error + 'static,
{
    let detail = DisplayErrorContext(err).to_string();
    if is_unavailable(err) {
        StoreError::unavailable(BACKEND, operation, detail)
    } else {
        StoreError::new(BACKEND, operation, detail)
    }
}

/// Whether a failed request means S3 is unavailable for now: the request could not be sent
/// (connection refused, DNS, TLS), it timed out (the client's timeouts, see
/// [`AnyStore::from_config`](super::AnyStore::from_config)), or S3 answered 5xx or throttled
/// (429). A request S3 refused otherwise (403 AccessDenied, 404 NoSuchBucket, 400) or that
/// could not be built is a bug or a misconfiguration.
fn is_unavailable<E>(err: &SdkError<E>) -> bool {
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => true,
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => {
            status(err).is_some_and(|s| s >= 500 || s == 429)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::config::http::HttpResponse;
    use aws_sdk_s3::error::ConnectorError;
    use aws_sdk_s3::primitives::SdkBody;

    use super::*;

    type Err = SdkError<std::io::Error, HttpResponse>;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(status.try_into().expect("a status"), SdkBody::empty())
    }

    fn service(status: u16) -> Err {
        SdkError::service_error(std::io::Error::other("service"), response(status))
    }

    #[test]
    fn unreachable_slow_or_failing_s3_is_unavailable_and_refusals_are_bugs() {
        let refused = ConnectorError::io(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        let cases: [(Err, bool); 8] = [
            (SdkError::dispatch_failure(refused), true),
            (SdkError::timeout_error("operation timeout"), true),
            (service(500), true),
            (service(503), true),
            (service(429), true),
            (service(403), false),
            (service(404), false),
            (SdkError::construction_failure("no bucket"), false),
        ];
        for (err, expected) in cases {
            let store_error = sdk_error("read a note", &err);
            assert_eq!(store_error.unavailable, expected, "{store_error}");
            assert_eq!(store_error.backend, "s3");
        }
    }
}
