//! `ferrolab embed` against the committed `transformers` reference (all-MiniLM-L6-v2, installed
//! by tests/fixtures/install_minilm.sh): token ids equal, embeddings within 1e-4, input order
//! kept across --file and arguments; errors on stderr with a non-zero exit.

use std::process::Command;

const MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";

fn embed(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ferrolab"))
        .arg("embed")
        .args(args)
        .output()
        .unwrap()
}

fn installed() -> bool {
    let found = embed(&["--model", MODEL, "--tokens-only", "x"]).status.success();
    assert!(
        found || std::env::var_os("CI").is_none(),
        "CI installs all-MiniLM-L6-v2"
    );
    found
}

fn lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn embeddings_match_the_reference_in_input_order() {
    if !installed() {
        eprintln!("SKIPPED: all-MiniLM-L6-v2 is not installed (tests/fixtures/install_minilm.sh)");
        return;
    }
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/minilm_reference.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let cases: Vec<&serde_json::Value> = reference["texts"]
        .as_array()
        .expect("the reference's texts")
        .iter()
        .filter(|c| c.get("embedding").is_some())
        .collect();
    assert!(cases.len() >= 4, "the reference has embeddings");
    // JSON lines, since some reference texts hold newlines.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("texts.jsonl");
    let jsonl: Vec<String> = cases
        .iter()
        .map(|c| serde_json::json!({"text": c["text"], "id": 1}).to_string())
        .collect();
    std::fs::write(&file, jsonl.join("\n")).unwrap();
    let got = lines(&embed(&["--model", MODEL, "--jsonl", file.to_str().unwrap()]));
    assert_eq!(got.len(), cases.len());
    for (record, case) in got.iter().zip(&cases) {
        assert_eq!(record["text"], case["text"]);
        assert_eq!(record["ids"], case["ids"], "{}", case["text"]);
        let (e, want) = (
            record["embedding"].as_array().unwrap(),
            case["embedding"].as_array().unwrap(),
        );
        for (g, w) in e.iter().zip(want) {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!((g - w).abs() < 1e-4, "{}: {g} vs {w}", case["text"]);
        }
    }
    let tokens = lines(&embed(&[
        "--model",
        MODEL,
        "--tokens-only",
        "Hello, world!",
        "café",
    ]));
    assert_eq!(tokens[0]["ids"][0], 101, "[CLS] first");
    assert!(tokens[1].get("embedding").is_none());
}

#[test]
fn a_missing_model_or_no_text_is_an_error_on_stderr() {
    let out = embed(&["--model", "/nonexistent/model", "text"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/model"));
    let out = embed(&["--model", MODEL]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no texts"));
}
