//! Runs the official `jupyter_kernel_test` suite (kernel/tests/jkt) against the built binary.
//!
//! The suite needs Python with jupyter-kernel-test 0.7 and jupyter_client (see `python/`).
//! The kernelspec and history file live in a temporary dir, so the user's Jupyter setup is
//! never touched.

mod python;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Runs one suite module from kernel/tests/jkt against the binary with the given engine.
fn run_suite(module: &str, engine: &str) {
    let python = python::venv_python();
    let tmp = python::kernelspec("ferrolab-test", engine);

    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jkt");
    let out = python::output_within(
        Command::new(&python)
            .args(["-m", "unittest", "-v", module])
            .current_dir(&suite)
            .env("JUPYTER_PATH", tmp.path())
            .env("FERROLAB_HISTORY_FILE", tmp.path().join("history.jsonl")),
        Duration::from_secs(900),
    );
    let report = String::from_utf8_lossy(&out.stderr);
    println!("{report}");
    assert!(
        out.status.success(),
        "jupyter_kernel_test ({module}) failed:\n{report}"
    );
    // Every attribute is set, so nothing may be skipped.
    let skipped = report
        .lines()
        .filter(|l| l.contains("... skipped"))
        .collect::<Vec<_>>();
    assert!(skipped.is_empty(), "tests were skipped: {skipped:#?}");
}

/// The protocol over the mock engine: seconds.
#[test]
fn official_suite_passes_over_the_mock_engine() {
    run_suite("test_ferrolab", "mock");
}

/// Rust cells through evcxr with the library: minutes the first time on a machine
/// (the library builds once into the persistent cache), about a minute after.
#[test]
fn official_suite_passes_with_rust_cells() {
    run_suite("test_ferrolab_rust", "evcxr");
}
