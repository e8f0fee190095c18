//! `api-spec`: prints the OpenAPI document (pretty JSON), or with `--write` writes it to
//! `openapi.json` at the workspace root, the committed copy `tests/fresh.rs` checks.

use std::process::ExitCode;

const USAGE: &str = "usage: cargo run -p api-spec [-- --write]\n\
                     \n\
                     Prints the API's OpenAPI 3.1 document; --write writes it to openapi.json at \
                     the workspace root instead.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let write = match args.as_slice() {
        [] => false,
        ["--write"] => true,
        ["-h" | "--help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let json = match api_spec::to_json() {
        Ok(json) => json,
        Err(e) => {
            eprintln!("api-spec: cannot serialize the document: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !write {
        print!("{json}");
        return ExitCode::SUCCESS;
    }
    let path = api_spec::committed_path();
    // The workspace root exists even when openapi.json does not yet.
    let shown = path
        .parent()
        .and_then(|root| root.canonicalize().ok())
        .map_or_else(|| path.clone(), |root| root.join("openapi.json"))
        .display()
        .to_string();
    match std::fs::write(&path, json) {
        Ok(()) => {
            eprintln!("api-spec: wrote {shown}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("api-spec: cannot write {shown}: {e}");
            ExitCode::FAILURE
        }
    }
}
