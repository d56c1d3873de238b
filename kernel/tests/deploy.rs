//! `deploy/`: the KServe ServingRuntime and InferenceServices carry the fields KServe
//! requires (checked by `serve/check_deploy.py` with PyYAML in the test venv), and the
//! container's command line is one `ferrolab serve` accepts (its `--help` lists each flag).

#[path = "python/mod.rs"]
mod python;

use std::process::Command;

#[test]
fn kserve_manifests_have_what_kserve_requires() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = Command::new(python::venv_python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/serve/check_deploy.py"
        ))
        .arg(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let help = Command::new(env!("CARGO_BIN_EXE_ferrolab"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in ["--models", "--http", "--grpc", "--metrics"] {
        assert!(help.contains(flag), "`ferrolab serve` takes {flag}: {help}");
    }
}
