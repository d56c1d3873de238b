//! Runs the official `jupyter_kernel_test` suite (kernel/tests/jkt) against the built binary.
//!
//! The suite needs Python with jupyter-kernel-test 0.7 and jupyter_client. It uses the
//! interpreter in `$FERROLAB_PYTHON`, else the project's test venv under the user cache dir
//! (`~/.cache/ferrolab/venv`), creating that venv with pip on first use. The kernelspec and
//! history file live in a temporary dir, so the user's Jupyter setup is never touched.

use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGES: &[&str] = &["jupyter-kernel-test==0.7.0", "jupyter_client>=8,<9"];

fn venv_python() -> PathBuf {
    if let Some(python) = std::env::var_os("FERROLAB_PYTHON") {
        return PathBuf::from(python);
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let venv = Path::new(&home).join(".cache/ferrolab/venv");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import jupyter_kernel_test, jupyter_client"])
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        let made = Command::new("python3").arg("-m").arg("venv").arg(&venv).status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "could not create a Python venv at {}",
            venv.display()
        );
        let installed = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(PACKAGES)
            .status();
        assert!(
            installed.is_ok_and(|s| s.success()),
            "pip could not install {PACKAGES:?} into {}",
            venv.display()
        );
    }
    python
}

/// Runs one suite module from kernel/tests/jkt against the binary with the given engine.
fn run_suite(module: &str, engine: &str) {
    let python = venv_python();
    let tmp = tempfile::tempdir().unwrap();
    let spec_dir = tmp.path().join("kernels/ferrolab-test");
    std::fs::create_dir_all(&spec_dir).unwrap();
    let spec = serde_json::json!({
        "argv": [env!("CARGO_BIN_EXE_ferrolab"), "kernel", "-f", "{connection_file}"],
        "display_name": format!("ferrolab ({engine} engine, test)"),
        "language": "rust",
        "interrupt_mode": "message",
        "env": {"FERROLAB_ENGINE": engine},
    });
    std::fs::write(spec_dir.join("kernel.json"), spec.to_string()).unwrap();

    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jkt");
    let out = Command::new(&python)
        .args(["-m", "unittest", "-v", module])
        .current_dir(&suite)
        .env("JUPYTER_PATH", tmp.path())
        .env("FERROLAB_HISTORY_FILE", tmp.path().join("history.jsonl"))
        .output()
        .expect("run python");
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
