//! DynamoDB store: one table, an item per note and a few counter items, every request's cost
//! independent of how many notes there are.
//!
//! | item | `owner` (partition key) | `id` (sort key) | attributes |
//! |---|---|---|---|
//! | a note | the owner's `sub` | the note id (a ULID: time-ordered) | `note` (its JSON), `etag` |
//! | a counter shard | `#count#0` … `#count#15` | `#` | `n`: notes created minus deleted |
//!
//! - create: `TransactWriteItems` = `Put` the note if `attribute_not_exists(id)` + `ADD n 1` to
//!   the note's counter shard; delete: `Delete` if `attribute_exists(id)` + `ADD n -1`. Both
//!   land whole or not at all, so the counters never drift ("Amazon DynamoDB Transactions: How
//!   it works"). A shard is picked by the note id, so creates spread over
//!   [`COUNTER_SHARDS`] items instead of contending for one.
//! - replace: `PutItem` if `etag = :expected` (the ETag read just before): an atomic
//!   compare-and-swap; a failed condition is told apart (gone or changed) by one `GetItem`.
//! - get: `GetItem`, strongly consistent.
//! - a page: one `Query` on the owner's partition, newest first (`ScanIndexForward = false`),
//!   `Limit` = page size + 1 (the one more says whether older notes remain), the cursor as
//!   `ExclusiveStartKey` built from the caller's own partition key and the cursor's note id, so
//!   a cursor can never name another partition. Strongly consistent, so a note is listed as
//!   soon as its create returned.
//! - count: one `BatchGetItem` of the counter shards.
//! - bulk load ([`DynamoStore::import_new`], for seeding a benchmark or loading an export):
//!   `BatchWriteItem`, 25 notes a call, then one `UpdateItem` per counter shard touched.
//!
//! `owner` and counter keys cannot collide: an [`Owner`] holds only letters, digits, `_` and
//! `-`. Key and attribute names go through expression attribute names everywhere (`owner` is
//! one of DynamoDB's reserved words). The table itself is Terraform's (`IaC/modules/notes_table`,
//! on AWS) or [`DynamoStore::create_table`]'s (the local stack on moto, the tests).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CancellationReason, Delete, KeySchemaElement,
    KeyType, KeysAndAttributes, Put, PutRequest, ScalarAttributeType, TransactWriteItem, Update,
    WriteRequest,
};

use super::{Store, StorePage, Version};
use crate::error::{PutError, StoreError};
use crate::model::{Note, NoteId, Owner};

const BACKEND: &str = "dynamodb";

/// The partition key: the owner's `sub` (or a counter shard's key).
pub const PARTITION_KEY: &str = "owner";
/// The sort key: the note id (or `#` for a counter shard).
pub const SORT_KEY: &str = "id";
/// How many counter items the count is spread over.
pub const COUNTER_SHARDS: u32 = 16;
/// How often a transaction that met another one on the same item is tried again.
const TRANSACTION_ATTEMPTS: u32 = 5;
/// The most items one `BatchWriteItem` takes ("BatchWriteItem", Amazon DynamoDB API
/// Reference).
const BATCH_WRITE_ITEMS: usize = 25;

/// Notes stored as items of a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: Arc<str>,
}

impl DynamoStore {
    /// A store over `table`, using `client` (its region, credentials and endpoint).
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table name.
    #[must_use]
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table (on-demand, the key schema above) unless it exists: what the local
    /// stack on moto and the tests use; on AWS, Terraform creates it.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB refuses or cannot be reached.
    pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
        const OP: &str = "create the notes table";
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| StoreError::new(BACKEND, OP, e.to_string()))
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| StoreError::new(BACKEND, OP, e.to_string()))
        };
        let result = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute(PARTITION_KEY)?)
            .attribute_definitions(attribute(SORT_KEY)?)
            .key_schema(key(PARTITION_KEY, KeyType::Hash)?)
            .key_schema(key(SORT_KEY, KeyType::Range)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceInUseException") => Ok(()),
            Err(e) => Err(sdk_error(OP, &e)),
        }
    }

    /// Writes `notes` of `owner` in bulk: `BatchWriteItem`, 25 a call (what DynamoDB leaves
    /// unprocessed is sent again, a bounded number of times), then adds them to the counters,
    /// one `UpdateItem` per shard touched. For notes that do not exist yet (fresh ids, as a
    /// benchmark's seeding or the load of an export into an empty table): a bulk write has no
    /// condition, so an id that exists is overwritten and counted twice. Not a transaction:
    /// when it fails part-way, what was written stays and is counted before the error is
    /// returned, so the counters match the items except after a crash in between.
    ///
    /// Returns how many notes were written.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB refuses or cannot be reached (unavailable when it keeps
    /// items unprocessed).
    pub async fn import_new(&self, owner: &Owner, notes: &[Note]) -> Result<u64, StoreError> {
        const OP: &str = "import notes";
        let mut per_shard: HashMap<u128, i64> = HashMap::new();
        let mut written: u64 = 0;
        let mut failure = None;
        'chunks: for chunk in notes.chunks(BATCH_WRITE_ITEMS) {
            let mut pending: Vec<&Note> = chunk.iter().collect();
            for attempt in 1..=TRANSACTION_ATTEMPTS {
                let mut requests = Vec::with_capacity(pending.len());
                for note in &pending {
                    let put = PutRequest::builder()
                        .set_item(Some(Self::item(owner, note, OP)?))
                        .build()
                        .map_err(|e| StoreError::new(BACKEND, OP, e.to_string()))?;
                    requests.push(WriteRequest::builder().put_request(put).build());
                }
                let output = match self
                    .client
                    .batch_write_item()
                    .request_items(self.table.as_ref(), requests)
                    .send()
                    .await
                {
                    Ok(output) => output,
                    Err(e) => {
                        failure = Some(sdk_error(OP, &e));
                        break 'chunks;
                    }
                };
                let unprocessed: HashSet<&str> = output
                    .unprocessed_items()
                    .and_then(|u| u.get(self.table.as_ref()))
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.put_request()?.item().get(SORT_KEY)?.as_s().ok())
                    .map(String::as_str)
                    .collect();
                let (left, done): (Vec<&Note>, Vec<&Note>) = pending
                    .into_iter()
                    .partition(|n| unprocessed.contains(n.id().to_string().as_str()));
                for note in done {
                    written += 1;
                    *per_shard.entry(Self::shard_of(&note.id())).or_default() += 1;
                }
                pending = left;
                if pending.is_empty() {
                    continue 'chunks;
                }
                tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
            }
            failure = Some(StoreError::unavailable(
                BACKEND,
                OP,
                format!(
                    "{} notes stayed unprocessed after {TRANSACTION_ATTEMPTS} attempts (throttled)",
                    pending.len()
                ),
            ));
            break;
        }
        let mut shards: Vec<(u128, i64)> = per_shard.into_iter().collect();
        shards.sort_unstable();
        for (shard, delta) in shards {
            self.client
                .update_item()
                .table_name(self.table.as_ref())
                .set_key(Some(Self::key(&format!("#count#{shard}"), "#")))
                .update_expression("ADD #n :delta")
                .expression_attribute_names("#n", "n")
                .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()))
                .send()
                .await
                .map_err(|e| sdk_error(OP, &e))?;
        }
        match failure {
            Some(err) => Err(err),
            None => Ok(written),
        }
    }

    fn key(owner: &str, id: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (
                PARTITION_KEY.to_owned(),
                AttributeValue::S(owner.to_owned()),
            ),
            (SORT_KEY.to_owned(), AttributeValue::S(id.to_owned())),
        ])
    }

    fn note_key(owner: &Owner, id: &NoteId) -> HashMap<String, AttributeValue> {
        Self::key(owner.as_str(), &id.to_string())
    }

    /// The counter shard of a note: picked by its id, so a create and the delete of the same
    /// note meet the same shard.
    fn shard_key(id: &NoteId) -> HashMap<String, AttributeValue> {
        Self::key(&format!("#count#{}", Self::shard_of(id)), "#")
    }

    fn shard_of(id: &NoteId) -> u128 {
        id.as_ulid().0 % u128::from(COUNTER_SHARDS)
    }

    /// `ADD n :delta` on the note's counter shard.
    fn count_update(&self, id: &NoteId, delta: i64) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(Self::shard_key(id)))
            .update_expression("ADD #n :delta")
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()))
            .build()
            .map_err(|e| StoreError::new(BACKEND, "count notes", e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn item(
        owner: &Owner,
        note: &Note,
        operation: &'static str,
    ) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let json = serde_json::to_string(note).map_err(|e| {
            StoreError::new(BACKEND, operation, format!("cannot serialize note: {e}"))
        })?;
        let mut item = Self::note_key(owner, &note.id());
        item.insert("note".to_owned(), AttributeValue::S(json));
        item.insert("etag".to_owned(), AttributeValue::S(note.etag().to_owned()));
        Ok(item)
    }

    /// Runs a two-item transaction, again when it met a concurrent one on the same item
    /// (`TransactionConflict`: nothing of it was applied); `Ok(false)` when the first item's
    /// condition failed.
    async fn transact(
        &self,
        operation: &'static str,
        items: Vec<TransactWriteItem>,
    ) -> Result<bool, StoreError> {
        for attempt in 1..=TRANSACTION_ATTEMPTS {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(true),
                Err(err) => err,
            };
            let reasons: Vec<CancellationReason> = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(canceled)) => {
                    canceled.cancellation_reasons().to_vec()
                }
                _ => Vec::new(),
            };
            let code = |n: usize| reasons.get(n).and_then(CancellationReason::code);
            if code(0) == Some("ConditionalCheckFailed") {
                return Ok(false);
            }
            let conflict = reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"));
            if conflict && attempt < TRANSACTION_ATTEMPTS {
                tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
                continue;
            }
            if conflict {
                return Err(StoreError::unavailable(
                    BACKEND,
                    operation,
                    format!("{TRANSACTION_ATTEMPTS} attempts met concurrent transactions"),
                ));
            }
            return Err(sdk_error(operation, &err));
        }
        Err(StoreError::unavailable(
            BACKEND,
            operation,
            "no attempt made",
        ))
    }
}

impl Store for DynamoStore {
    fn kind(&self) -> char {
        'd'
    }

    async fn put_new(&self, owner: &Owner, note: &Note) -> Result<(), PutError> {
        const OP: &str = "create a note";
        let put = Put::builder()
            .table_name(self.table.as_ref())
            .set_item(Some(Self::item(owner, note, OP)?))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", SORT_KEY)
            .build()
            .map_err(|e| StoreError::new(BACKEND, OP, e.to_string()))?;
        let items = vec![
            TransactWriteItem::builder().put(put).build(),
            self.count_update(&note.id(), 1)?,
        ];
        if self.transact(OP, items).await? {
            Ok(())
        } else {
            Err(PutError::AlreadyExists)
        }
    }

    async fn get(&self, owner: &Owner, id: &NoteId) -> Result<Option<(Note, Version)>, StoreError> {
        const OP: &str = "read a note";
        let output = self
            .client
            .get_item()
            .table_name(self.table.as_ref())
            .set_key(Some(Self::note_key(owner, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(OP, &e))?;
        let Some(item) = output.item() else {
            return Ok(None);
        };
        let (note, version) = read_item(item, OP)?;
        if note.id() != *id {
            return Err(StoreError::new(
                BACKEND,
                OP,
                format!("the item of {owner}/{id} holds note {}", note.id()),
            ));
        }
        Ok(Some((note, version)))
    }

    async fn put_if(&self, owner: &Owner, note: &Note, expected: &Version) -> Result<(), PutError> {
        const OP: &str = "replace a note";
        let result = self
            .client
            .put_item()
            .table_name(self.table.as_ref())
            .set_item(Some(Self::item(owner, note, OP)?))
            .condition_expression("#etag = :expected")
            .expression_attribute_names("#etag", "etag")
            .expression_attribute_values(
                ":expected",
                AttributeValue::S(expected.as_str().to_owned()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                // Changed, or deleted meanwhile: one read tells which.
                match self.get(owner, &note.id()).await? {
                    Some(_) => Err(PutError::PreconditionFailed),
                    None => Err(PutError::NotFound),
                }
            }
            Err(e) => Err(sdk_error(OP, &e).into()),
        }
    }

    async fn delete(&self, owner: &Owner, id: &NoteId) -> Result<bool, StoreError> {
        const OP: &str = "delete a note";
        let delete = Delete::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(Self::note_key(owner, id)))
            .condition_expression("attribute_exists(#id)")
            .expression_attribute_names("#id", SORT_KEY)
            .build()
            .map_err(|e| StoreError::new(BACKEND, OP, e.to_string()))?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.count_update(id, -1)?,
        ];
        self.transact(OP, items).await
    }

    async fn list_page(
        &self,
        owner: &Owner,
        before: Option<NoteId>,
        limit: usize,
    ) -> Result<StorePage, StoreError> {
        const OP: &str = "list notes";
        let asked = i32::try_from(limit.saturating_add(1)).unwrap_or(i32::MAX);
        let output = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .key_condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", PARTITION_KEY)
            .expression_attribute_values(":owner", AttributeValue::S(owner.as_str().to_owned()))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(asked)
            .set_exclusive_start_key(before.map(|id| Self::note_key(owner, &id)))
            .send()
            .await
            .map_err(|e| sdk_error(OP, &e))?;
        let mut notes = Vec::with_capacity(limit.min(output.items().len()));
        for item in output.items() {
            notes.push(read_item(item, OP)?.0);
        }
        let more = notes.len() > limit;
        notes.truncate(limit);
        Ok(StorePage { notes, more })
    }

    async fn count_all(&self) -> Result<u64, StoreError> {
        const OP: &str = "count notes";
        let mut keys = KeysAndAttributes::builder();
        for shard in 0..COUNTER_SHARDS {
            keys = keys.keys(Self::key(&format!("#count#{shard}"), "#"));
        }
        let mut pending = Some(
            keys.consistent_read(true)
                .build()
                .map_err(|e| StoreError::new(BACKEND, OP, e.to_string()))?,
        );
        let mut total: i64 = 0;
        // BatchGetItem may hand back keys it did not read (throttling): ask again, a bounded
        // number of times.
        for _ in 0..TRANSACTION_ATTEMPTS {
            let Some(request) = pending.take() else { break };
            let output = self
                .client
                .batch_get_item()
                .request_items(self.table.as_ref(), request)
                .send()
                .await
                .map_err(|e| sdk_error(OP, &e))?;
            for item in output
                .responses()
                .and_then(|r| r.get(self.table.as_ref()))
                .into_iter()
                .flatten()
            {
                let n = match item.get("n") {
                    Some(AttributeValue::N(n)) => n.parse::<i64>().map_err(|e| {
                        StoreError::new(BACKEND, OP, format!("a counter is not a number: {e}"))
                    })?,
                    _ => 0,
                };
                total += n;
            }
            pending = output
                .unprocessed_keys()
                .and_then(|u| u.get(self.table.as_ref()))
                .filter(|k| !k.keys().is_empty())
                .cloned();
        }
        if pending.is_some() {
            return Err(StoreError::unavailable(
                BACKEND,
                OP,
                "the counters stayed unprocessed (throttled)",
            ));
        }
        u64::try_from(total)
            .map_err(|_| StoreError::new(BACKEND, OP, format!("the counters sum to {total}")))
    }
}

/// A note item's note and version.
fn read_item(
    item: &HashMap<String, AttributeValue>,
    operation: &'static str,
) -> Result<(Note, Version), StoreError> {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(text)) => Ok(text.as_str()),
        _ => Err(StoreError::new(
            BACKEND,
            operation,
            format!("an item has no text attribute `{name}`"),
        )),
    };
    let note: Note = serde_json::from_str(text("note")?).map_err(|e| {
        StoreError::new(
            BACKEND,
            operation,
            format!("an item is not a valid note: {e}"),
        )
    })?;
    let version = Version::new(text("etag")?);
    Ok((note, version))
}

/// A failed request as a store error: unavailable (HTTP 503) when DynamoDB could not be
/// reached, timed out, answered 5xx or throttled; a bug (HTTP 500) otherwise.
fn sdk_error<E, R>(operation: &'static str, err: &SdkError<E, R>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    let detail = DisplayErrorContext(err).to_string();
    if is_unavailable(err) {
        StoreError::unavailable(BACKEND, operation, detail)
    } else {
        StoreError::new(BACKEND, operation, detail)
    }
}

/// DynamoDB's throttling errors come as HTTP 400 with these codes ("Error handling with
/// DynamoDB"); they, 5xx answers, timeouts and requests that could not be sent mean "try
/// again later".
const THROTTLING_CODES: [&str; 4] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "LimitExceededException",
];

fn is_unavailable<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => true,
        SdkError::ServiceError(service) => {
            let code = service.err().code();
            code.is_some_and(|c| THROTTLING_CODES.contains(&c))
                || code == Some("InternalServerError")
                || code == Some("ServiceUnavailable")
        }
        SdkError::ResponseError(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;

    use super::*;
    use crate::store::{AWS_OPERATION_TIMEOUT, dynamo_config};

    fn service_error(code: &str) -> SdkError<GetItemError, ()> {
        let meta = ErrorMetadata::builder().code(code).build();
        SdkError::service_error(GetItemError::generic(meta), ())
    }

    #[test]
    fn throttling_and_server_errors_are_unavailable_and_refusals_are_bugs() {
        for (code, unavailable) in [
            ("ProvisionedThroughputExceededException", true),
            ("ThrottlingException", true),
            ("RequestLimitExceeded", true),
            ("InternalServerError", true),
            ("AccessDeniedException", false),
            ("ResourceNotFoundException", false),
            ("ValidationException", false),
        ] {
            let err = sdk_error("read a note", &service_error(code));
            assert_eq!(err.unavailable, unavailable, "{code}: {err}");
            assert_eq!(err.backend, "dynamodb");
        }
        let timeout: SdkError<GetItemError, ()> = SdkError::timeout_error("operation timeout");
        assert!(sdk_error("read a note", &timeout).unavailable);
    }

    #[test]
    fn a_note_and_its_delete_meet_the_same_counter_shard() {
        let mut shards = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let id = NoteId::new();
            let key = DynamoStore::shard_key(&id);
            assert_eq!(key, DynamoStore::shard_key(&id));
            let Some(AttributeValue::S(owner)) = key.get(PARTITION_KEY) else {
                panic!("{key:?}");
            };
            // Never an owner's partition: `#` is not in an Owner.
            assert!(Owner::new(owner.clone()).is_err(), "{owner}");
            shards.insert(owner.clone());
        }
        assert!(
            shards.len() > 1,
            "the creates spread over shards: {shards:?}"
        );
        assert!(shards.len() <= COUNTER_SHARDS as usize);
    }

    #[tokio::test]
    async fn a_dead_endpoint_is_unavailable_within_the_operation_timeout() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .build();
        let config = dynamo_config(&sdk)
            .to_builder()
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .build();
        let store = DynamoStore::new(Client::from_conf(config), "nowhere".into());
        let owner = Owner::new("user-1").expect("owner");
        let started = Instant::now();
        let err = store
            .list_page(&owner, None, 10)
            .await
            .expect_err("no DynamoDB there");
        assert!(err.unavailable, "{err}");
        assert!(started.elapsed() <= AWS_OPERATION_TIMEOUT + Duration::from_secs(1));
    }
}
