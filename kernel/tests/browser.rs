//! JupyterLab 4 and Notebook 7 in Debian's chromium through Playwright
//! (`clients/browser.py`): what a learner sees of a Rust cell, a `fit` with its progress bar
//! and curves, Tab completion, the toolbar's interrupt, a compile error. Screenshots are kept
//! under the cargo target's tmp dir (`browser/`).
//!
//! Needs `chromium` (Debian) and the venv's jupyterlab, notebook and playwright (`.ci/run`
//! installs them; `FERROLAB_CHROMIUM` names another chromium). One library load, a short
//! fit and an interrupted one: about 40 s warm.

mod python;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[test]
fn jupyterlab_and_notebook_in_a_browser() {
    let python = python::venv_python();
    let spec = python::kernelspec("ferrolab-test", "evcxr");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    let _ = std::fs::remove_dir_all(&shots);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/browser.py");
    let out = python::output_within(
        Command::new(&python)
            .arg(&script)
            .arg(&shots)
            .env("JUPYTER_PATH", spec.path())
            .env("JUPYTER_RUNTIME_DIR", spec.path().join("runtime"))
            .env("JUPYTER_CONFIG_DIR", spec.path().join("config"))
            .env("FERROLAB_HISTORY_FILE", spec.path().join("history.jsonl")),
        Duration::from_secs(900),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "browser.py failed:\n{stderr}");
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    eprintln!("browser: {seen}\nscreenshots: {}", shots.display());
    assert!(
        seen.get("error").is_none(),
        "{seen}\nscreenshots: {}",
        shots.display()
    );
    assert!(seen["value"].as_str().is_some_and(|v| v.contains("42")), "{seen}");
    assert!(
        seen["progress_states"].as_u64().is_some_and(|n| n >= 2),
        "the bar did not move: {seen}"
    );
    assert_eq!(seen["curves_image"], true, "{seen}");
    assert!(
        seen["completions"].as_str().is_some_and(|c| c.contains("Cnn")),
        "{seen}"
    );
    assert!(
        seen["interrupted"]
            .as_str()
            .is_some_and(|t| t.contains("interrupted in epoch")),
        "{seen}"
    );
    assert!(
        seen["model_after_interrupt"]
            .as_str()
            .is_some_and(|t| t.trim_end().ends_with("true")),
        "{seen}"
    );
    assert!(
        seen["compile_error"]
            .as_str()
            .is_some_and(|t| t.contains("mismatched types")),
        "{seen}"
    );
    assert!(
        seen["nb7_value"].as_str().is_some_and(|v| v.contains("42")),
        "{seen}"
    );
    assert_eq!(seen["nb7_compile_error"], true, "{seen}");
    assert!(shots.join("lab-2-curves.png").exists());
}
