//! The committed `openapi.json` (workspace root; the local gateway serves it) is the document the
//! code generates now.

#[test]
fn committed_openapi_json_is_fresh() {
    let path = api_spec::committed_path();
    let Ok(generated) = api_spec::to_json() else {
        panic!("the document serializes");
    };
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale (or missing): regenerate it with `cargo run -p api-spec -- --write` and \
         commit it",
        path.display()
    );
}
