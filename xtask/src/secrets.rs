//! The secrets scan `cargo xtask test` runs over the logs its tests produced (the function
//! logs of the local stack, written at `trace`, the most verbose level the IaC accepts; moto's
//! request log): any JWT, AWS access key id, AWS secret key assignment, OAuth client secret,
//! refresh token, cookie, Lambda invocation event or marked note text in them fails the run,
//! and so does a function log that is missing or empty when the end-to-end tests ran (a log
//! that was never written proves nothing). Hand-written matching keeps xtask free of a regex
//! engine; the patterns are few and simple.

use std::path::Path;

/// One secret-looking string found in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file.
    pub file: String,
    /// The 1-based line.
    pub line: usize,
    /// What it looks like.
    pub kind: &'static str,
}

/// Scans one text; `file` names it in the findings.
pub fn scan_text(file: &str, text: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for kind in kinds(line) {
            findings.push(Finding {
                file: file.to_owned(),
                line: i + 1,
                kind,
            });
        }
    }
    findings
}

/// Scans the files that exist among `paths` (missing ones are skipped: not every run makes
/// every log).
pub fn scan_files(paths: &[&Path]) -> Vec<Finding> {
    paths
        .iter()
        .filter_map(|path| {
            let text = std::fs::read(path).ok()?;
            Some(scan_text(
                &path.display().to_string(),
                &String::from_utf8_lossy(&text),
            ))
        })
        .flatten()
        .collect()
}

/// Why the function log at `path` proves nothing, when the end-to-end tests that write it ran:
/// it is missing or empty. `None` when it has content.
pub fn function_log_problem(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > 0 => None,
        Ok(_) => Some(format!(
            "{} is empty: the end-to-end tests ran but no function wrote a log line",
            path.display()
        )),
        Err(error) => Some(format!(
            "{} is missing ({error}): the end-to-end tests ran but no function log was written",
            path.display()
        )),
    }
}

fn kinds(line: &str) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    if has_jwt(line) {
        kinds.push("a JWT");
    }
    if has_access_key(line) {
        kinds.push("an AWS access key id");
    }
    // A payload 2.0 event as the Lambda runtime would dump it, or its cookies; inside a JSON
    // log line the event is a string, its quotes escaped.
    let unescaped = line.replace('\\', "");
    if unescaped.contains("\"requestContext\"") {
        kinds.push("a Lambda invocation event");
    }
    if has_cookie(&unescaped) {
        kinds.push("a cookie");
    }
    if has_note_marker(line) {
        kinds.push("a note's title or body");
    }
    let lower = line.to_ascii_lowercase();
    for (needle, kind) in [
        ("aws_secret_access_key", "an AWS secret access key"),
        ("client_secret", "an OAuth client secret"),
        ("refresh_token", "a refresh token"),
    ] {
        if assigned_value(&lower, needle) {
            kinds.push(kind);
        }
    }
    kinds
}

/// A cookie as an event carries it: a non-empty `cookies` array, or a `cookie` header with a
/// value (JSON keys, as the functions' JSON log lines would quote them; `line` unescaped).
fn has_cookie(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    let compact: String = lower.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    compact.contains("\"cookies\":[\"")
        || compact
            .match_indices("\"cookie\":\"")
            .any(|(at, needle)| !compact[at + needle.len()..].starts_with('"'))
}

/// The note marker of the hardening tests (`crates/local-aws/tests/hardening.rs` uses
/// `alice-private-<ULID>` and `bob-private-<ULID>` as the title and body of its notes): `-private-`
/// followed by 26 Crockford base32 characters.
fn has_note_marker(line: &str) -> bool {
    const NEEDLE: &str = "-private-";
    let crockford = |c: &u8| c.is_ascii_digit() || (c.is_ascii_uppercase() && !b"ILOU".contains(c));
    line.match_indices(NEEDLE).any(|(at, _)| {
        let rest = &line.as_bytes()[at + NEEDLE.len()..];
        rest.len() >= 26
            && rest[..26].iter().all(crockford)
            && rest.get(26).is_none_or(|c| !c.is_ascii_alphanumeric())
    })
}

fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// `eyJ…` `.` `eyJ…` `.` signature: a JWS in compact form (header and payload are JSON
/// objects, so both start with `eyJ`).
fn has_jwt(line: &str) -> bool {
    let bytes = line.as_bytes();
    let mut start = 0;
    while let Some(at) = line[start..].find("eyJ") {
        let i = start + at;
        let header = bytes[i..].iter().take_while(|c| is_b64url(**c)).count();
        let rest = &line[i + header..];
        if header >= 10 && rest.starts_with(".eyJ") {
            let payload = rest.as_bytes()[1..]
                .iter()
                .take_while(|c| is_b64url(**c))
                .count();
            let after = &rest[1 + payload..];
            if payload >= 10
                && after.starts_with('.')
                && after.as_bytes()[1..]
                    .iter()
                    .take_while(|c| is_b64url(**c))
                    .count()
                    >= 10
            {
                return true;
            }
        }
        start = i + 3;
    }
    false
}

/// `AKIA`/`ASIA` followed by 16 upper-case letters or digits, on a word boundary.
fn has_access_key(line: &str) -> bool {
    let bytes = line.as_bytes();
    (0..bytes.len().saturating_sub(19)).any(|i| {
        let prefix = &bytes[i..i + 4];
        (prefix == b"AKIA" || prefix == b"ASIA")
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
            && bytes[i + 4..i + 20]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && bytes.get(i + 20).is_none_or(|c| !c.is_ascii_alphanumeric())
    })
}

/// `needle` followed by `=`, `:` or `":"` and a value of at least 8 characters.
fn assigned_value(lower: &str, needle: &str) -> bool {
    let mut start = 0;
    while let Some(at) = lower[start..].find(needle) {
        let rest = &lower[start + at + needle.len()..];
        let rest = rest.trim_start_matches(['"', '\'', ' ']);
        if let Some(value) = rest.strip_prefix(['=', ':']) {
            let value = value.trim_start_matches(['"', '\'', ' ']);
            let len = value
                .bytes()
                .take_while(|c| !matches!(c, b'"' | b'\'' | b',' | b'&' | b' ' | b'}'))
                .count();
            if len >= 8 && !value.starts_with("<redacted>") {
                return true;
            }
        }
        start += at + needle.len();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_is_secret_and_nothing_else() {
        // AWS's documented example key id, assembled here so that no key-shaped literal is
        // committed (the repository itself must pass the same kind of scan).
        let key_id = ["AK", "IA", "IOSFODNN7EXAMPLE"].concat();
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz";
        for (line, want) in [
            (format!("auth header Bearer {jwt} seen"), vec!["a JWT"]),
            (format!("key {key_id} used"), vec!["an AWS access key id"]),
            (
                "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG".to_owned(),
                vec!["an AWS secret access key"],
            ),
            (
                r#"{"client_secret":"3f9a8b7c6d5e4f3a"}"#.to_owned(),
                vec!["an OAuth client secret"],
            ),
            (
                "grant_type=refresh_token&refresh_token=abcdefgh1234".to_owned(),
                vec!["a refresh token"],
            ),
            // Not secrets: the words alone, a redacted value, ordinary ids and base64.
            ("client_secret: <redacted>".to_owned(), vec![]),
            ("the refresh_token grant".to_owned(), vec![]),
            (
                "GET /notes/01J0000000000000000000000A 200 get-note warm 3ms".to_owned(),
                vec![],
            ),
            ("eyJhbGciOiJSUzI1NiJ9 alone".to_owned(), vec![]),
            (format!("X{key_id}"), vec![]),
            // The runtime's dump of an event: the event itself, its cookies, a note's text.
            (
                r#"{"fields":{"body":"{\"version\":\"2.0\",\"requestContext\":{}}"}}"#.to_owned(),
                vec!["a Lambda invocation event"],
            ),
            (
                r#"{"version":"2.0","cookies": ["session=abc"],"rawPath":"/"}"#.to_owned(),
                vec!["a cookie"],
            ),
            (
                r#"{"headers":{"cookie":"session=abc"}}"#.to_owned(),
                vec!["a cookie"],
            ),
            (
                r#"{"fields":{"body":"{\"cookies\":[\"session=abc\"]}"}}"#.to_owned(),
                vec!["a cookie"],
            ),
            (
                r#"{"title":"alice-private-01JD5X7Q9ZK3M4N5P6R7S8T9VW 0"}"#.to_owned(),
                vec!["a note's title or body"],
            ),
            // Not those: empty cookies, the words alone, other ids.
            (r#"{"cookies":[],"cookie":""}"#.to_owned(), vec![]),
            (
                "no cookie here; the requestContext field".to_owned(),
                vec![],
            ),
            ("alice-private-notes are private".to_owned(), vec![]),
            (
                "GET /notes/01JD5X7Q9ZK3M4N5P6R7S8T9VW 200 get-note warm 3ms".to_owned(),
                vec![],
            ),
        ] {
            let kinds: Vec<&str> = scan_text("log", &line)
                .into_iter()
                .map(|f| f.kind)
                .collect();
            assert_eq!(kinds, want, "{line}");
        }
    }

    #[test]
    fn a_missing_or_empty_function_log_is_a_problem() {
        let dir = std::env::temp_dir().join(format!("xtask-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let missing = dir.join("missing.log");
        let empty = dir.join("empty.log");
        let written = dir.join("written.log");
        std::fs::write(&empty, "").expect("write");
        std::fs::write(&written, "get-note | {\"level\":\"INFO\"}\n").expect("write");
        let missing_problem = function_log_problem(&missing);
        let empty_problem = function_log_problem(&empty);
        let written_problem = function_log_problem(&written);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            missing_problem
                .as_deref()
                .is_some_and(|p| p.contains("missing")),
            "{missing_problem:?}"
        );
        assert!(
            empty_problem
                .as_deref()
                .is_some_and(|p| p.contains("empty")),
            "{empty_problem:?}"
        );
        assert_eq!(written_problem, None);
    }

    #[test]
    fn findings_name_file_and_line() {
        let text = "fine\nBearer eyJaaaaaaaaaaaa.eyJbbbbbbbbbbbbb.cccccccccccccc\n";
        assert_eq!(
            scan_text("f.log", text),
            vec![Finding {
                file: "f.log".to_owned(),
                line: 2,
                kind: "a JWT"
            }]
        );
    }
}
