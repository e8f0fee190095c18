//! The engine's inputs, parsed without AWS: the package manifest `cargo xtask package` writes
//! and the output of `terraform output -json`.

use std::path::{Path, PathBuf};

use deploy::{Arch, Manifest, ManifestError, S3Location, StackOutputs, StackOutputsError};

// SHA-256 of the empty string, as hex and as Lambda's CodeSha256 (base64 of the raw digest).
const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const B64: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

fn package_json(function: &str, sha256: &str, code_sha256: &str) -> String {
    format!(
        r#"{{"function":"{function}","zip":"target/lambda/{function}/bootstrap.zip","size":123,"sha256":"{sha256}","code_sha256":"{code_sha256}"}}"#
    )
}

fn manifest_json(arch: &str, packages: &[String]) -> String {
    format!(r#"{{"arch":"{arch}","packages":[{}]}}"#, packages.join(","))
}

fn parse(json: &str) -> Result<Manifest, ManifestError> {
    Manifest::from_json(json, Path::new("/work/main"))
}

fn invalid_detail(json: &str) -> (String, String) {
    match parse(json) {
        Err(ManifestError::Invalid { function, detail }) => (function, detail),
        other => panic!("expected ManifestError::Invalid: {other:?}"),
    }
}

#[test]
fn manifest_parses_and_resolves_zip_paths_against_the_root() {
    let json = manifest_json(
        "arm64",
        &[
            package_json("get-note", HEX, B64),
            package_json("health", HEX, B64),
        ],
    );
    let manifest = match parse(&json) {
        Ok(m) => m,
        Err(e) => panic!("valid manifest refused: {e}"),
    };
    assert_eq!(manifest.arch, Arch::Arm64);
    assert_eq!(manifest.packages.len(), 2);
    let package = &manifest.packages[0];
    assert_eq!(package.function, "get-note");
    assert_eq!(
        package.zip,
        PathBuf::from("/work/main/target/lambda/get-note/bootstrap.zip")
    );
    assert_eq!(package.size, 123);
    assert_eq!(package.sha256, HEX);
    assert_eq!(package.code_sha256, B64);
    let x86 = parse(&manifest_json("x86_64", &[]));
    assert_eq!(x86.map(|m| m.arch), Ok(Arch::X86_64));
}

#[test]
fn absolute_zip_paths_stay_as_they_are() {
    let json = r#"{"arch":"arm64","packages":[{"function":"me","zip":"/tmp/me.zip","size":1,
        "sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "code_sha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}]}"#;
    let zip = parse(json).map(|m| m.packages[0].zip.clone());
    assert_eq!(zip, Ok(PathBuf::from("/tmp/me.zip")));
}

#[test]
fn manifest_shape_errors_say_what_is_wrong() {
    let cases = [
        ("not json", "expected ident"),
        (r#"{"packages":[]}"#, "missing field `arch`"),
        (r#"{"arch":"arm64"}"#, "missing field `packages`"),
        (
            r#"{"arch":"riscv","packages":[]}"#,
            "unknown variant `riscv`",
        ),
        (
            r#"{"arch":"arm64","packages":[{"function":"me","zip":"z","size":1,"sha256":"00"}]}"#,
            "missing field `code_sha256`",
        ),
        (
            r#"{"arch":"arm64","packages":[],"extra":1}"#,
            "unknown field `extra`",
        ),
        (
            r#"{"arch":"arm64","packages":[{"function":"me","zip":"z","size":-1,"sha256":"","code_sha256":""}]}"#,
            "invalid value: integer `-1`",
        ),
    ];
    for (json, expected) in cases {
        let err = parse(json);
        let Err(err @ ManifestError::Json { .. }) = &err else {
            panic!("{json}: expected ManifestError::Json, got {err:?}");
        };
        let text = err.to_string();
        assert!(text.contains(expected), "{json}: {text}");
        assert!(text.contains("hint: rerun `cargo xtask package`"), "{text}");
    }
}

#[test]
fn manifest_hashes_are_checked() {
    let (function, detail) = invalid_detail(&manifest_json(
        "arm64",
        &[package_json("get-note", "abc", B64)],
    ));
    assert_eq!(function, "get-note");
    assert_eq!(detail, "sha256 `abc` is not 64 hex digits");

    let not_hex = "z".repeat(64);
    let (_, detail) = invalid_detail(&manifest_json(
        "arm64",
        &[package_json("get-note", &not_hex, B64)],
    ));
    assert!(detail.contains("is not 64 hex digits"), "{detail}");

    // A code_sha256 of another digest (here: the hex string itself) is refused.
    let (_, detail) = invalid_detail(&manifest_json("arm64", &[package_json("health", HEX, HEX)]));
    assert_eq!(
        detail,
        format!("code_sha256 `{HEX}` is not the base64 of sha256 (expected `{B64}`)")
    );
}

#[test]
fn manifest_names_must_be_present_and_unique() {
    let (_, detail) = invalid_detail(&manifest_json("arm64", &[package_json("", HEX, B64)]));
    assert_eq!(detail, "the function name is empty");
    let json = manifest_json(
        "arm64",
        &[package_json("me", HEX, B64), package_json("me", HEX, B64)],
    );
    assert_eq!(
        parse(&json),
        Err(ManifestError::Duplicate {
            function: "me".into()
        })
    );
}

#[test]
fn manifest_load_names_a_missing_file() {
    let Ok(dir) = tempfile::tempdir() else {
        panic!("create a temporary directory");
    };
    let path = dir.path().join("packages.json");
    let err = Manifest::load(&path, dir.path());
    let Err(err @ ManifestError::Read { .. }) = &err else {
        panic!("expected ManifestError::Read: {err:?}");
    };
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("run `cargo xtask package` first"), "{text}");
}

#[test]
fn manifest_select_keeps_order_and_names_unknown_functions() {
    let json = manifest_json(
        "arm64",
        &[
            package_json("get-note", HEX, B64),
            package_json("health", HEX, B64),
            package_json("me", HEX, B64),
        ],
    );
    let Ok(manifest) = parse(&json) else {
        panic!("valid manifest refused");
    };
    let names = |m: &Manifest| {
        m.packages
            .iter()
            .map(|p| p.function.clone())
            .collect::<Vec<_>>()
    };
    let selected = manifest.select(&["me".into(), "get-note".into()]);
    assert_eq!(
        selected.as_ref().map(names),
        Ok(vec!["get-note".into(), "me".into()])
    );
    assert_eq!(
        manifest.select(&[]).as_ref().map(names),
        Ok(names(&manifest))
    );
    let err = manifest.select(&["archive-note".into()]);
    assert_eq!(
        err,
        Err(ManifestError::NotPackaged {
            function: "archive-note".into(),
            known: "get-note, health, me".into()
        })
    );
}

const OUTPUTS: &str = r#"{
  "api_gateway_endpoint": {"sensitive": false, "type": "string", "value": "https://x.execute-api.eu-west-1.amazonaws.com"},
  "client_secret": {"sensitive": true, "type": "string", "value": "s3cr3t"},
  "function_names": {"sensitive": false, "type": ["map", "string"], "value": {"get-note": "notes-get-note", "health": "notes-health"}},
  "region": {"sensitive": false, "type": "string", "value": "eu-west-1"},
  "s3_bucket_name": {"sensitive": false, "type": "string", "value": "notes-artifacts-123"}
}"#;

#[test]
fn terraform_outputs_parse() {
    let stack = match StackOutputs::from_terraform_json(OUTPUTS) {
        Ok(s) => s,
        Err(e) => panic!("valid outputs refused: {e}"),
    };
    assert_eq!(stack.region, "eu-west-1");
    assert_eq!(stack.artifacts_bucket, "notes-artifacts-123");
    assert_eq!(stack.function_names.len(), 2);
    assert_eq!(stack.lambda_name("get-note"), Some("notes-get-note"));
    assert_eq!(stack.lambda_name("me"), None);
}

/// OUTPUTS with one output removed or replaced.
fn outputs_with(name: &str, replacement: Option<serde_json::Value>) -> String {
    let Ok(serde_json::Value::Object(mut outputs)) = serde_json::from_str(OUTPUTS) else {
        panic!("OUTPUTS is an object");
    };
    match replacement {
        Some(value) => outputs.insert(name.to_owned(), value),
        None => outputs.remove(name),
    };
    serde_json::Value::Object(outputs).to_string()
}

#[test]
fn a_missing_terraform_output_is_named() {
    for name in ["region", "s3_bucket_name", "function_names"] {
        let err = StackOutputs::from_terraform_json(&outputs_with(name, None));
        assert_eq!(
            err,
            Err(StackOutputsError::Missing { name: name.into() }),
            "{name}"
        );
    }
    // A stack that was never applied prints `{}`.
    let err = StackOutputs::from_terraform_json("{}");
    let Err(err) = err else {
        panic!("empty outputs accepted");
    };
    assert_eq!(
        err.to_string(),
        "the Terraform output `region` is missing; hint: run `terraform apply` in IaC/ first? (a \
         stack that was never applied has no outputs)"
    );
}

#[test]
fn terraform_outputs_of_the_wrong_shape_are_refused() {
    let cases = [
        (
            "region",
            serde_json::json!({"value": 42, "type": "number"}),
            "a non-empty string",
        ),
        (
            "region",
            serde_json::json!({"value": ""}),
            "a non-empty string",
        ),
        (
            "region",
            serde_json::json!("eu-west-1"),
            "a non-empty string",
        ),
        (
            "function_names",
            serde_json::json!({"value": ["get-note"]}),
            "a map of strings",
        ),
        (
            "function_names",
            serde_json::json!({"value": {"get-note": ""}}),
            "a map of non-empty strings",
        ),
        (
            "s3_bucket_name",
            serde_json::json!({"value": null}),
            "a non-empty string",
        ),
    ];
    for (name, value, expected_kind) in cases {
        let err = StackOutputs::from_terraform_json(&outputs_with(name, Some(value.clone())));
        let Err(StackOutputsError::Invalid {
            name: reported,
            expected,
            ..
        }) = &err
        else {
            panic!("{name} = {value}: expected Invalid, got {err:?}");
        };
        assert_eq!(reported, name);
        assert_eq!(expected, expected_kind, "{name} = {value}");
    }
}

#[test]
fn terraform_output_that_is_not_a_json_object_is_refused() {
    for text in ["", "Error: No outputs found", "[]", "null"] {
        let err = StackOutputs::from_terraform_json(text);
        let Err(err @ StackOutputsError::Json { .. }) = &err else {
            panic!("{text:?}: expected Json, got {err:?}");
        };
        assert!(err.to_string().contains("hint: run it in IaC/"), "{err}");
    }
}

const PUBLISHED: &str = r#"{"version": 1, "region": "eu-west-1", "artifacts_bucket": "notes-artifacts-123",
  "function_names": {"get-note": "notes-get-note", "health": "notes-health"}, "alias": "live"}"#;

#[test]
fn the_published_stack_parses_like_the_outputs() {
    let published = StackOutputs::from_published_json(PUBLISHED);
    let outputs = StackOutputs::from_terraform_json(OUTPUTS);
    assert!(published.is_ok(), "{published:?}");
    assert_eq!(published, outputs);
}

#[test]
fn a_published_stack_of_the_wrong_shape_is_refused() {
    let Ok(serde_json::Value::Object(valid)) = serde_json::from_str(PUBLISHED) else {
        panic!("PUBLISHED is an object");
    };
    let with = |name: &str, value: Option<serde_json::Value>| {
        let mut object = valid.clone();
        match value {
            Some(value) => object.insert(name.to_owned(), value),
            None => object.remove(name),
        };
        serde_json::Value::Object(object).to_string()
    };
    let cases = [
        (with("region", None), "missing field `region`"),
        (
            with("function_names", None),
            "missing field `function_names`",
        ),
        (with("alias", None), "missing field `alias`"),
        (
            with("version", Some(2.into())),
            "its version is 2, this deploy tool reads version 1",
        ),
        (with("region", Some("".into())), "`region` is empty"),
        (with("artifacts_bucket", Some(7.into())), "invalid type"),
        (
            with("function_names", Some(serde_json::json!({"health": ""}))),
            "maps `health` to an empty name",
        ),
        (
            with("alias", Some("blue".into())),
            "its alias is `blue`, but this deploy tool moves `live`",
        ),
        ("".to_owned(), "EOF"),
        ("[]".to_owned(), "it is an array, not a JSON object"),
        (OUTPUTS.to_owned(), "invalid type"),
    ];
    for (text, want) in cases {
        let err = StackOutputs::from_published_json(&text);
        let Err(err @ StackOutputsError::Published { .. }) = &err else {
            panic!("{text}: expected Published, got {err:?}");
        };
        let message = err.to_string();
        assert!(
            message.contains(want),
            "{text}: expected {want:?} in {message}"
        );
        assert!(
            message.contains("hint: `terraform apply` in IaC/"),
            "{message}"
        );
    }
}

#[test]
fn s3_locations_parse() {
    let parsed = "s3://notes-artifacts-123/deploy/stack.json".parse::<S3Location>();
    assert_eq!(
        parsed,
        Ok(S3Location {
            bucket: "notes-artifacts-123".into(),
            key: "deploy/stack.json".into()
        })
    );
    if let Ok(location) = parsed {
        assert_eq!(
            location.to_string(),
            "s3://notes-artifacts-123/deploy/stack.json"
        );
    }
    for bad in [
        "",
        "notes-artifacts-123/deploy/stack.json",
        "s3://",
        "s3://bucket",
        "s3://bucket/",
        "s3:///key",
        "s3://bucket/dir/",
        "https://bucket/key",
    ] {
        let err = bad.parse::<S3Location>();
        let Err(message) = err else {
            panic!("{bad:?} accepted: {err:?}");
        };
        assert!(
            message.contains("is not s3://BUCKET/KEY") && message.contains("deploy_stack_url"),
            "{bad:?}: {message}"
        );
    }
}
