//! The built binary refuses to start on bad configuration, naming what to fix.

use std::process::Command;

fn start(vars: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_get-note"))
        .env_clear()
        .envs(vars.iter().copied())
        .output()
        .expect("the get-note binary starts");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[test]
fn bad_configuration_fails_at_init_with_a_clear_message() {
    for (vars, expect) in [
        (&[][..], "NOTES_TABLE"),
        (&[("NOTES_STORE", "dynamodb")][..], "NOTES_TABLE"),
        (&[("NOTES_STORE", "fs")][..], "NOTES_DIR"),
        (&[("NOTES_STORE", "s3")][..], "NOTES_STORE"),
    ] {
        let (ok, text) = start(vars);
        assert!(!ok, "{vars:?} must not start");
        assert!(text.contains(expect), "{vars:?}: {text}");
        assert!(text.contains("function init failed"), "{vars:?}: {text}");
    }
}
