//! The secrets scan `cargo xtask test` runs over the logs its tests produced (the function
//! logs of the local stack, moto's request log): any JWT, AWS access key id, AWS secret key
//! assignment or OAuth client secret in them fails the run. Hand-written matching keeps xtask
//! free of a regex engine; the patterns are few and simple.

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

fn kinds(line: &str) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    if has_jwt(line) {
        kinds.push("a JWT");
    }
    if has_access_key(line) {
        kinds.push("an AWS access key id");
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
        ] {
            let kinds: Vec<&str> = scan_text("log", &line)
                .into_iter()
                .map(|f| f.kind)
                .collect();
            assert_eq!(kinds, want, "{line}");
        }
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
