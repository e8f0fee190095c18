//! The store contract suite: every test is written once against `NotesService<AnyStore>` and run
//! against both backends: the filesystem store (in a temporary directory) and the DynamoDB store
//! (against moto server, whose URL comes from `MOTO_ENDPOINT`; each test gets its own table).
//!
//! Run: `MOTO_ENDPOINT=http://127.0.0.1:PORT cargo test -p notes` (or `cargo xtask test`, which
//! starts moto server).

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt as _;
use notes::{
    AnyStore, Cursor, DynamoStore, FsStore, Limit, ListQuery, Note, NoteId, NoteInput, NotesError,
    NotesService, Owner, Store as _,
};
use tempfile::TempDir;

type Service = NotesService<AnyStore>;

/// Keeps a backend's resources alive for the duration of a test.
enum Fixture {
    Fs {
        _dir: TempDir,
    },
    /// A moto table (each test's own, named uniquely).
    Dynamo,
}

/// Generates `mod fs` and `mod dynamodb`, each with one `#[tokio::test]` per contract test.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod fs {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (service, _fixture) = super::fs_service();
                    super::$name(service).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (service, _fixture) = super::dynamo_service().await;
                    super::$name(service).await;
                }
            )*
        }
    };
}

contract!(
    create_get_round_trip,
    create_rejects_invalid_input,
    list_newest_first_with_pagination,
    list_limit_bounds,
    replace_with_current_etag,
    replace_evaluates_if_match_per_rfc_9110,
    replace_with_stale_etag_fails,
    replace_invalid_input_changes_nothing,
    replace_missing_is_not_found,
    concurrent_replaces_exactly_one_wins,
    delete_then_get_is_not_found,
    delete_missing_is_not_found,
    cross_user_isolation,
    foreign_cursor_reveals_nothing,
    cursors_of_other_listings_are_refused,
    similar_owner_prefixes_are_isolated,
    count_all_counts_every_user,
    count_stays_exact_under_a_concurrent_mix,
    import_new_lists_newest_first_and_counts,
    malicious_identifiers_never_reach_the_store,
);

fn fs_service() -> (Service, Fixture) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let store = AnyStore::Fs(FsStore::new(dir.path().to_path_buf()));
    (NotesService::new(store), Fixture::Fs { _dir: dir })
}

async fn dynamo_service() -> (Service, Fixture) {
    let client = test_support::moto::dynamodb(&test_support::moto::sdk_config(
        &test_support::moto::endpoint(),
    ));
    let table = test_support::unique("notes-contract");
    DynamoStore::create_table(&client, &table)
        .await
        .expect("create the table on moto");
    let store = AnyStore::Dynamo(DynamoStore::new(client, table));
    (NotesService::new(store), Fixture::Dynamo)
}

fn owner(sub: &str) -> Owner {
    Owner::new(sub).expect("valid owner")
}

fn input(title: &str, body: &str, tags: &[&str]) -> NoteInput {
    NoteInput {
        title: title.into(),
        body: body.into(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
    }
}

fn query(limit: u32, cursor: Option<Cursor>) -> ListQuery {
    ListQuery {
        limit: Limit::new(limit).expect("valid limit"),
        cursor,
    }
}

async fn create_n(service: &Service, owner: &Owner, n: usize) -> Vec<Note> {
    let mut notes = Vec::with_capacity(n);
    for i in 0..n {
        notes.push(
            service
                .create(owner, input(&format!("note {i}"), "", &[]))
                .await
                .expect("create"),
        );
    }
    notes
}

/// Follows the cursors to the end and returns every page.
async fn all_pages(service: &Service, owner: &Owner, limit: u32) -> Vec<Vec<Note>> {
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = service
            .list(owner, query(limit, cursor))
            .await
            .expect("list");
        pages.push(page.items);
        match page.next_cursor {
            // Cursors survive the trip through their string form.
            Some(next) => cursor = Some(Cursor::parse(&next.to_string()).expect("cursor")),
            None => return pages,
        }
        assert!(pages.len() < 1000, "pagination does not terminate");
    }
}

fn ids(notes: &[Note]) -> Vec<NoteId> {
    notes.iter().map(Note::id).collect()
}

async fn create_get_round_trip(service: Service) {
    let alice = owner("alice");
    let note = service
        .create(&alice, input("  Hello  ", "Body ü 😀\nline", &["x", "y-2"]))
        .await
        .expect("create");
    assert_eq!(note.title(), "Hello");
    assert_eq!(note.body(), "Body ü 😀\nline");
    assert_eq!(note.tags(), ["x", "y-2"]);
    assert_eq!(note.created_at(), note.updated_at());
    assert_eq!(note.etag().len(), 34);
    let got = service.get(&alice, &note.id()).await.expect("get");
    assert_eq!(got, note);
    assert_eq!(got.etag(), note.etag());
}

async fn create_rejects_invalid_input(service: Service) {
    let alice = owner("alice");
    for bad in [
        input("", "b", &[]),
        input(&"t".repeat(201), "b", &[]),
        input("t", &"b".repeat(64 * 1024 + 1), &[]),
        input("t", "b", &["Upper"]),
        input("t", "b", &["dup", "dup"]),
    ] {
        let err = service.create(&alice, bad).await.expect_err("invalid");
        assert!(matches!(err, NotesError::Validation(_)), "{err}");
    }
    assert_eq!(service.count_all().await.expect("count"), 0);
}

async fn list_newest_first_with_pagination(service: Service) {
    let alice = owner("alice");
    let created = create_n(&service, &alice, 7).await;
    let mut newest_first = ids(&created);
    newest_first.reverse();

    let everything = service
        .list(&alice, ListQuery::default())
        .await
        .expect("list");
    assert_eq!(ids(&everything.items), newest_first);
    assert!(everything.next_cursor.is_none());
    assert_eq!(everything.items, {
        let mut c = created.clone();
        c.reverse();
        c
    });

    for limit in [1, 2, 3, 6, 7, 8] {
        let pages = all_pages(&service, &alice, limit).await;
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        let limit_usize = limit as usize;
        let expected_pages = 7usize.div_ceil(limit_usize);
        assert_eq!(pages.len(), expected_pages, "limit {limit}: {sizes:?}");
        assert!(
            sizes.iter().all(|s| *s <= limit_usize && *s > 0),
            "{sizes:?}"
        );
        let flat: Vec<NoteId> = pages.iter().flat_map(|p| ids(p)).collect();
        assert_eq!(
            flat, newest_first,
            "limit {limit}: every note once, newest first"
        );
    }
}

async fn list_limit_bounds(service: Service) {
    let alice = owner("alice");
    assert!(Limit::parse(Some("0")).is_err());
    assert!(Limit::parse(Some("101")).is_err());
    let empty = service.list(&alice, query(100, None)).await.expect("list");
    assert!(empty.items.is_empty() && empty.next_cursor.is_none());

    // 101 notes, created concurrently.
    let created: Vec<Note> = futures::stream::iter(0..101)
        .map(|i| {
            let service = &service;
            let alice = &alice;
            async move {
                service
                    .create(alice, input(&format!("n{i}"), "", &[]))
                    .await
                    .expect("create")
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut newest_first = ids(&created);
    newest_first.sort_unstable_by(|a, b| b.cmp(a));

    let first = service.list(&alice, query(100, None)).await.expect("list");
    assert_eq!(ids(&first.items), newest_first[..100]);
    let cursor = first.next_cursor.expect("one more remains");
    let second = service
        .list(&alice, query(100, Some(cursor)))
        .await
        .expect("list");
    assert_eq!(ids(&second.items), newest_first[100..]);
    assert!(second.next_cursor.is_none());

    let one = service.list(&alice, query(1, None)).await.expect("list");
    assert_eq!(ids(&one.items), newest_first[..1]);
    assert!(one.next_cursor.is_some());

    let default = service
        .list(&alice, ListQuery::default())
        .await
        .expect("list");
    assert_eq!(default.items.len(), 20);
}

async fn replace_with_current_etag(service: Service) {
    let alice = owner("alice");
    let note = service
        .create(&alice, input("old", "old body", &["a"]))
        .await
        .expect("create");
    let replaced = service
        .replace(
            &alice,
            &note.id(),
            note.etag(),
            input("new", "new body", &[]),
        )
        .await
        .expect("replace");
    assert_eq!(replaced.id(), note.id());
    assert_eq!(replaced.created_at(), note.created_at());
    assert!(replaced.updated_at() > note.updated_at());
    assert_ne!(replaced.etag(), note.etag());
    assert_eq!(replaced.title(), "new");
    assert_eq!(replaced.body(), "new body");
    assert!(replaced.tags().is_empty());
    assert_eq!(
        service.get(&alice, &note.id()).await.expect("get"),
        replaced
    );

    // Same content again: the ETag still changes.
    let again = service
        .replace(
            &alice,
            &note.id(),
            replaced.etag(),
            input("new", "new body", &[]),
        )
        .await
        .expect("replace");
    assert_ne!(again.etag(), replaced.etag());
    assert_eq!(service.get(&alice, &note.id()).await.expect("get"), again);
}

/// RFC 9110 §13.1.1 in every store: `*` and a list holding the current tag match; a weak tag,
/// any other quoted string or a list without the current tag is a 412; only a value that is
/// not entity-tag syntax (the bare hex) is a 400. Nothing is written by a refused replace.
async fn replace_evaluates_if_match_per_rfc_9110(service: Service) {
    let alice = owner("alice");
    let note = service
        .create(&alice, input("t", "", &[]))
        .await
        .expect("create");
    let bare = note.etag().trim_matches('"').to_owned();
    let err = service
        .replace(&alice, &note.id(), &bare, input("u", "", &[]))
        .await
        .expect_err("an unquoted tag is not entity-tag syntax");
    assert!(
        matches!(err, NotesError::Validation(ref v) if v.field == "if_match"),
        "{err}"
    );
    for stale in [
        "\"anything\"".to_owned(),
        format!("W/{}", note.etag()),
        "\"a\", \"b\"".to_owned(),
    ] {
        let err = service
            .replace(&alice, &note.id(), &stale, input("u", "", &[]))
            .await
            .expect_err("no current tag");
        assert!(
            matches!(err, NotesError::PreconditionFailed),
            "{stale}: {err}"
        );
    }
    assert_eq!(service.get(&alice, &note.id()).await.expect("get"), note);
    let listed = service
        .replace(
            &alice,
            &note.id(),
            &format!("\"old\", {}", note.etag()),
            input("listed", "", &[]),
        )
        .await
        .expect("a list holding the current tag matches");
    assert_eq!(listed.title(), "listed");
    let any = service
        .replace(&alice, &note.id(), "*", input("any", "", &[]))
        .await
        .expect("* matches an existing note");
    assert_eq!(service.get(&alice, &note.id()).await.expect("get"), any);
    let err = service
        .replace(&alice, &NoteId::new(), "*", input("x", "", &[]))
        .await
        .expect_err("* matches no missing note");
    assert!(matches!(err, NotesError::NotFound), "{err}");
}

async fn replace_with_stale_etag_fails(service: Service) {
    let alice = owner("alice");
    let note = service
        .create(&alice, input("v1", "", &[]))
        .await
        .expect("create");
    let v2 = service
        .replace(&alice, &note.id(), note.etag(), input("v2", "", &[]))
        .await
        .expect("replace");
    let err = service
        .replace(&alice, &note.id(), note.etag(), input("v3", "", &[]))
        .await
        .expect_err("stale etag");
    assert!(matches!(err, NotesError::PreconditionFailed), "{err}");
    let wrong = format!("\"{}\"", "0".repeat(32));
    let err = service
        .replace(&alice, &note.id(), &wrong, input("v3", "", &[]))
        .await
        .expect_err("wrong etag");
    assert!(matches!(err, NotesError::PreconditionFailed), "{err}");
    assert_eq!(service.get(&alice, &note.id()).await.expect("get"), v2);
}

async fn replace_invalid_input_changes_nothing(service: Service) {
    let alice = owner("alice");
    let note = service
        .create(&alice, input("t", "", &[]))
        .await
        .expect("create");
    let err = service
        .replace(&alice, &note.id(), note.etag(), input("", "", &[]))
        .await
        .expect_err("invalid title");
    assert!(matches!(err, NotesError::Validation(_)), "{err}");
    let err = service
        .replace(&alice, &note.id(), "etag", input("ok", "", &[]))
        .await
        .expect_err("an If-Match that is not entity-tag syntax is refused");
    assert!(matches!(err, NotesError::Validation(_)), "{err}");
    assert_eq!(service.get(&alice, &note.id()).await.expect("get"), note);
}

async fn replace_missing_is_not_found(service: Service) {
    let alice = owner("alice");
    let etag = format!("\"{}\"", "a".repeat(32));
    let err = service
        .replace(&alice, &NoteId::new(), &etag, input("t", "", &[]))
        .await
        .expect_err("missing");
    assert!(matches!(err, NotesError::NotFound), "{err}");
    assert_eq!(service.count_all().await.expect("count"), 0);
}

/// On DynamoDB this relies on `PutItem` with `ConditionExpression`, which AWS evaluates and
/// applies atomically ("Condition expressions"). moto's server evaluates the condition and
/// writes in one request handler; the test held in every run here, so it runs on both backends.
async fn concurrent_replaces_exactly_one_wins(service: Service) {
    const WRITERS: usize = 8;
    let service = Arc::new(service);
    let alice = owner("alice");
    for round in 0..3 {
        let note = service
            .create(&alice, input("start", "", &[]))
            .await
            .expect("create");
        let tasks: Vec<_> = (0..WRITERS)
            .map(|i| {
                let service = Arc::clone(&service);
                let alice = alice.clone();
                let note = note.clone();
                tokio::spawn(async move {
                    service
                        .replace(
                            &alice,
                            &note.id(),
                            note.etag(),
                            input(&format!("writer {i}"), "", &[]),
                        )
                        .await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.expect("task finished") {
                Ok(note) => winners.push(note),
                Err(NotesError::PreconditionFailed) => {}
                Err(other) => panic!("round {round}: unexpected error {other}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one writer wins");
        let stored = service.get(&alice, &note.id()).await.expect("get");
        assert_eq!(
            stored, winners[0],
            "round {round}: the winner's content is stored"
        );
    }
}

async fn delete_then_get_is_not_found(service: Service) {
    let alice = owner("alice");
    let keep = service
        .create(&alice, input("keep", "", &[]))
        .await
        .expect("create");
    let note = service
        .create(&alice, input("gone", "", &[]))
        .await
        .expect("create");
    service.delete(&alice, &note.id()).await.expect("delete");
    let err = service.get(&alice, &note.id()).await.expect_err("deleted");
    assert!(matches!(err, NotesError::NotFound), "{err}");
    let err = service.delete(&alice, &note.id()).await.expect_err("twice");
    assert!(matches!(err, NotesError::NotFound), "{err}");
    let err = service
        .replace(&alice, &note.id(), note.etag(), input("back", "", &[]))
        .await
        .expect_err("replace after delete");
    assert!(matches!(err, NotesError::NotFound), "{err}");
    let page = service
        .list(&alice, ListQuery::default())
        .await
        .expect("list");
    assert_eq!(ids(&page.items), [keep.id()]);
    assert_eq!(service.count_all().await.expect("count"), 1);
}

async fn delete_missing_is_not_found(service: Service) {
    let err = service
        .delete(&owner("nobody"), &NoteId::new())
        .await
        .expect_err("missing");
    assert!(matches!(err, NotesError::NotFound), "{err}");
    let alice = owner("alice");
    service
        .create(&alice, input("t", "", &[]))
        .await
        .expect("create");
    let err = service
        .delete(&alice, &NoteId::new())
        .await
        .expect_err("missing");
    assert!(matches!(err, NotesError::NotFound), "{err}");
}

async fn cross_user_isolation(service: Service) {
    let alice = owner("3f8e2c1a-0b4d-4c6e-9a7b-1d2e3f4a5b6c");
    let bob = owner("9a7b1d2e-3f4a-4b6c-8e2c-1a0b4d4c6e00");
    let note = service
        .create(&alice, input("secret", "alice only", &["private"]))
        .await
        .expect("create");

    let err = service.get(&bob, &note.id()).await.expect_err("bob get");
    assert!(matches!(err, NotesError::NotFound), "{err}");
    let page = service
        .list(&bob, ListQuery::default())
        .await
        .expect("bob list");
    assert!(page.items.is_empty() && page.next_cursor.is_none());
    // Even with Alice's current ETag, Bob cannot replace her note.
    let err = service
        .replace(&bob, &note.id(), note.etag(), input("pwned", "", &[]))
        .await
        .expect_err("bob replace");
    assert!(matches!(err, NotesError::NotFound), "{err}");
    let err = service
        .delete(&bob, &note.id())
        .await
        .expect_err("bob delete");
    assert!(matches!(err, NotesError::NotFound), "{err}");

    assert_eq!(
        service.get(&alice, &note.id()).await.expect("alice get"),
        note
    );
    let page = service
        .list(&alice, ListQuery::default())
        .await
        .expect("list");
    assert_eq!(page.items, [note]);
}

async fn foreign_cursor_reveals_nothing(service: Service) {
    let alice = owner("alice");
    let bob = owner("bob");
    // Interleaved creation: b0 < a0 < a1 < b1 < a2 (ids are time-ordered).
    let b0 = service
        .create(&bob, input("b0", "", &[]))
        .await
        .expect("create");
    let a0 = service
        .create(&alice, input("a0", "", &[]))
        .await
        .expect("create");
    let a1 = service
        .create(&alice, input("a1", "", &[]))
        .await
        .expect("create");
    let b1 = service
        .create(&bob, input("b1", "", &[]))
        .await
        .expect("create");
    let a2 = service
        .create(&alice, input("a2", "", &[]))
        .await
        .expect("create");
    let alice_ids: HashSet<NoteId> = [a0.id(), a1.id(), a2.id()].into();
    let bob_ids: HashSet<NoteId> = [b0.id(), b1.id()].into();

    let check = |who: &str, page: &[Note], foreign: &HashSet<NoteId>, expected: &[&Note]| {
        assert!(
            page.iter().all(|n| !foreign.contains(&n.id())),
            "{who} saw a foreign note"
        );
        let expected: Vec<NoteId> = expected.iter().map(|n| n.id()).collect();
        assert_eq!(ids(page), expected, "{who}");
    };

    // Bob continues after Alice's ids: only positions count, and only Bob's notes come back.
    for (cursor_from, expected) in [(&a2, vec![&b1, &b0]), (&a1, vec![&b0]), (&a0, vec![&b0])] {
        let page = service
            .list(&bob, query(100, Some(Cursor::after(cursor_from.id()))))
            .await
            .expect("list");
        check("bob", &page.items, &alice_ids, &expected);
        assert!(page.next_cursor.is_none());
    }
    // And the other way round, with small pages.
    let page = service
        .list(&alice, query(1, Some(Cursor::after(b1.id()))))
        .await
        .expect("list");
    check("alice", &page.items, &bob_ids, &[&a1]);
    let next = page.next_cursor.expect("a0 remains");
    let page = service
        .list(&alice, query(1, Some(next)))
        .await
        .expect("list");
    check("alice", &page.items, &bob_ids, &[&a0]);
    assert!(page.next_cursor.is_none());
}

/// A cursor the service handed out continues only its own listing: another user's, one of
/// another store and one of the older format are 400s (field `cursor`), never followed.
async fn cursors_of_other_listings_are_refused(service: Service) {
    let alice = owner("alice");
    let bob = owner("bob");
    create_n(&service, &alice, 3).await;
    create_n(&service, &bob, 3).await;
    let page = service.list(&alice, query(1, None)).await.expect("list");
    let cursor = page.next_cursor.expect("more remain");
    let text = cursor.to_string();
    let parsed = Cursor::parse(&text).expect("it parses");
    let page = service
        .list(&alice, query(1, Some(parsed)))
        .await
        .expect("alice continues her own listing");
    assert_eq!(page.items.len(), 1);
    let refused = |result: Result<notes::Page, NotesError>, what: &str| match result {
        Err(NotesError::Validation(v)) if v.field == "cursor" => {}
        other => panic!("{what}: expected a cursor validation error, got {other:?}"),
    };
    refused(
        service.list(&bob, query(10, Some(parsed))).await,
        "alice's cursor used by bob",
    );
    let other_kind = if service.store().kind() == 'f' {
        'd'
    } else {
        'f'
    };
    let foreign = Cursor::issued(parsed.position(), &alice, other_kind);
    refused(
        service.list(&alice, query(10, Some(foreign))).await,
        "a cursor of another store",
    );
    let v1 = Cursor::parse(&Cursor::after(parsed.position()).to_string());
    assert!(
        v1.is_err_and(|e| e.field == "cursor"),
        "the older format does not parse"
    );
}

async fn similar_owner_prefixes_are_isolated(service: Service) {
    // "u" is a prefix of the others: keys and paths must not leak between them.
    let subs = ["u", "u-", "u_1", "u1", "U"];
    let mut created = Vec::new();
    for sub in subs {
        let note = service
            .create(&owner(sub), input(sub, "", &[]))
            .await
            .expect("create");
        created.push(note);
    }
    for (sub, note) in subs.iter().zip(&created) {
        let page = service
            .list(&owner(sub), ListQuery::default())
            .await
            .expect("list");
        assert_eq!(ids(&page.items), [note.id()], "owner {sub}");
        for (other, other_note) in subs.iter().zip(&created) {
            if other != sub {
                let err = service
                    .get(&owner(sub), &other_note.id())
                    .await
                    .expect_err("foreign note");
                assert!(
                    matches!(err, NotesError::NotFound),
                    "{sub} read {other}'s note"
                );
            }
        }
    }
    assert_eq!(service.count_all().await.expect("count"), 5);
}

async fn count_all_counts_every_user(service: Service) {
    assert_eq!(service.count_all().await.expect("count"), 0);
    let alice = owner("alice");
    let bob = owner("bob");
    let a = create_n(&service, &alice, 2).await;
    create_n(&service, &bob, 3).await;
    assert_eq!(service.count_all().await.expect("count"), 5);
    service.delete(&alice, &a[0].id()).await.expect("delete");
    assert_eq!(service.count_all().await.expect("count"), 4);
    // Replacing does not add anything.
    service
        .replace(&alice, &a[1].id(), a[1].etag(), input("r", "", &[]))
        .await
        .expect("replace");
    assert_eq!(service.count_all().await.expect("count"), 4);
}

/// A bulk import (60 notes: on DynamoDB three `BatchWriteItem` calls, the last one short) is
/// listed and counted like notes created one by one, and the store keeps working after it.
async fn import_new_lists_newest_first_and_counts(service: Service) {
    let alice = owner("alice");
    create_n(&service, &owner("bob"), 2).await;
    // Stored times have millisecond precision.
    let now = chrono::DateTime::from_timestamp_millis(chrono::Utc::now().timestamp_millis())
        .expect("a time");
    let notes: Vec<Note> = (0..60)
        .map(|i| {
            let content = input(&format!("imported {i}"), "b", &["t"])
                .validate()
                .expect("valid");
            Note::new(NoteId::new(), content, now, now)
        })
        .collect();
    let written = service
        .store()
        .import_new(&alice, &notes)
        .await
        .expect("import");
    assert_eq!(written, 60);
    assert_eq!(service.count_all().await.expect("count"), 62);
    let listed: Vec<NoteId> = all_pages(&service, &alice, 25)
        .await
        .into_iter()
        .flatten()
        .map(|n| n.id())
        .collect();
    let mut expected: Vec<NoteId> = notes.iter().map(Note::id).collect();
    expected.reverse();
    assert_eq!(listed, expected, "newest first, each once");
    let got = service.get(&alice, &notes[7].id()).await.expect("get");
    assert_eq!(got, notes[7]);
    service
        .delete(&alice, &notes[7].id())
        .await
        .expect("delete");
    assert_eq!(service.count_all().await.expect("count"), 61);
    assert_eq!(
        service
            .store()
            .import_new(&alice, &[])
            .await
            .expect("empty"),
        0
    );
}

/// Creates, deletes (some of them twice, racing) and replaces from many tasks at once, then
/// checks the count against the notes that are really there: the counters move with the notes,
/// never beside them.
async fn count_stays_exact_under_a_concurrent_mix(service: Service) {
    const USERS: usize = 4;
    const PER_USER: usize = 6;
    let service = Arc::new(service);
    let users: Vec<Owner> = (0..USERS).map(|u| owner(&format!("mix-{u}"))).collect();
    let creates = futures::future::join_all(users.iter().flat_map(|user| {
        (0..PER_USER).map(|i| {
            let service = Arc::clone(&service);
            let user = user.clone();
            tokio::spawn(async move {
                service
                    .create(&user, input(&format!("n{i}"), "", &[]))
                    .await
                    .map(|note| (user, note))
            })
        })
    }))
    .await;
    let created: Vec<(Owner, Note)> = creates
        .into_iter()
        .map(|r| r.expect("task").expect("create"))
        .collect();
    assert_eq!(created.len(), USERS * PER_USER);
    // Every third note is deleted by two racing tasks; every other one replaced meanwhile.
    let mut tasks = Vec::new();
    for (n, (user, note)) in created.iter().enumerate() {
        let copies = if n % 3 == 0 { 2 } else { 0 };
        for _ in 0..copies {
            let (service, user, id) = (Arc::clone(&service), user.clone(), note.id());
            tasks.push(tokio::spawn(async move {
                match service.delete(&user, &id).await {
                    Ok(()) => 1_usize,
                    Err(NotesError::NotFound) => 0,
                    Err(other) => panic!("delete: {other}"),
                }
            }));
        }
        if n % 2 == 1 {
            let (service, user, note) = (Arc::clone(&service), user.clone(), note.clone());
            tasks.push(tokio::spawn(async move {
                match service
                    .replace(&user, &note.id(), note.etag(), input("r", "", &[]))
                    .await
                {
                    Ok(_) | Err(NotesError::NotFound) => 0,
                    Err(other) => panic!("replace: {other}"),
                }
            }));
        }
    }
    let mut deleted = 0;
    for task in tasks {
        deleted += task.await.expect("task");
    }
    let doomed = created.len().div_ceil(3);
    assert_eq!(deleted, doomed, "each doomed note is deleted exactly once");
    let mut really_there = 0;
    for user in &users {
        really_there += all_pages(&service, user, 100)
            .await
            .iter()
            .map(Vec::len)
            .sum::<usize>();
    }
    assert_eq!(really_there, created.len() - doomed);
    let counted = service.count_all().await.expect("count");
    assert_eq!(
        usize::try_from(counted).ok(),
        Some(really_there),
        "the count equals the notes there are"
    );
}

async fn malicious_identifiers_never_reach_the_store(service: Service) {
    // Path and key injection attempts are rejected by the types, before any store call.
    for sub in [
        "",
        "..",
        "../bob",
        "alice/../bob",
        "a/b",
        "%2e%2e",
        "a%2Fb",
        "a b",
        "ålice",
        "a\\b",
        "a\0",
        "*",
    ] {
        assert!(Owner::new(sub).is_err(), "owner {sub:?} must be rejected");
    }
    for id in [
        "..",
        "../01ARZ3NDEKTSV4RRFFQ69G5FA",
        "01ARZ3NDEKTSV4RRFFQ69G5FA/",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV/../x",
        "01ARZ3NDEKTSV4RRFFQ69G5%2F",
        "01arz3ndektsv4rrffq69g5fav",
        "*",
        "",
    ] {
        assert!(id.parse::<NoteId>().is_err(), "id {id:?} must be rejected");
    }
    // Valid owners that look like parts of the layout stay inside their own space.
    let layout_like = owner("notes");
    let alice = owner("alice");
    let note = service
        .create(&alice, input("t", "", &[]))
        .await
        .expect("create");
    let page = service
        .list(&layout_like, ListQuery::default())
        .await
        .expect("list");
    assert!(page.items.is_empty());
    let err = service
        .get(&layout_like, &note.id())
        .await
        .expect_err("foreign");
    assert!(matches!(err, NotesError::NotFound), "{err}");
    assert_eq!(service.count_all().await.expect("count"), 1);
}

/// Filesystem-only checks of the on-disk layout.
mod fs_layout {
    use super::*;

    #[tokio::test]
    async fn stray_files_are_ignored_and_layout_is_as_documented() {
        let dir = tempfile::tempdir().expect("tempdir");
        let service = NotesService::new(FsStore::new(dir.path().to_path_buf()));
        let alice = owner("alice");
        let note = service
            .create(&alice, input("t", "", &[]))
            .await
            .expect("create");
        let owner_dir = dir.path().join("notes").join("alice");
        let file = owner_dir.join(format!("{}.json", note.id()));
        assert!(file.is_file(), "{} exists", file.display());

        // Leftovers of a crash, a lock file and foreign files are not notes.
        for name in [
            ".tmp-1-XYZ",
            ".lock",
            "README",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV.txt",
        ] {
            std::fs::write(owner_dir.join(name), b"{}").expect("write stray file");
        }
        std::fs::create_dir_all(dir.path().join("notes").join("not valid!")).expect("mkdir");
        std::fs::write(
            dir.path()
                .join("notes")
                .join("not valid!")
                .join("01ARZ3NDEKTSV4RRFFQ69G5FAV.json"),
            b"{}",
        )
        .expect("write stray note");

        let page = service
            .list(&alice, ListQuery::default())
            .await
            .expect("list");
        assert_eq!(ids(&page.items), [note.id()]);
        assert_eq!(service.count_all().await.expect("count"), 1);

        // What is on disk is the note, ETag included, and it round-trips.
        let json = std::fs::read(&file).expect("read");
        let stored: Note = serde_json::from_slice(&json).expect("parse");
        assert_eq!(stored, note);
    }
}
