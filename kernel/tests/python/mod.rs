//! The Python the Jupyter-side and serving tests need: `$FERROLAB_PYTHON`, else the project's test venv
//! under the user cache dir (`~/.cache/ferrolab/venv`), created with pip on first use.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Everything any Python-side test imports (`.ci/run` installs the same list).
const PACKAGES: &[&str] = &[
    "jupyter-kernel-test==0.7.0",
    "jupyter_client>=8.9,<9",
    "nbclient>=0.10,<0.12",
    "nbformat>=5.9,<6",
    "tritonclient[http,grpc]==2.73.0",
    "PyYAML==6.0.3",
    "jupyter-kernel-gateway>=3,<4",
    "jupyter-console>=6.6,<7",
    "jupyterlab>=4.5,<5",
    "notebook>=7.5,<8",
    "playwright>=1.60,<2",
];

/// The test's Python interpreter, with every package of [`PACKAGES`] importable.
pub fn venv_python() -> PathBuf {
    if let Some(python) = std::env::var_os("FERROLAB_PYTHON") {
        return PathBuf::from(python);
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let venv = Path::new(&home).join(".cache/ferrolab/venv");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args([
            "-c",
            "import jupyter_kernel_test, jupyter_client, nbclient, nbformat, tritonclient.http.aio, tritonclient.grpc, yaml, kernel_gateway, jupyter_console, pexpect, jupyterlab, notebook, playwright",
        ])
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

/// A temporary Jupyter data dir holding the kernelspec `name` for the built binary.
pub fn kernelspec(name: &str, engine: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let spec_dir = tmp.path().join("kernels").join(name);
    std::fs::create_dir_all(&spec_dir).unwrap();
    let spec = serde_json::json!({
        "argv": [env!("CARGO_BIN_EXE_ferrolab"), "kernel", "-f", "{connection_file}"],
        "display_name": format!("ferrolab ({engine} engine, test)"),
        "language": "rust",
        "interrupt_mode": "message",
        "env": {"FERROLAB_ENGINE": engine},
    });
    std::fs::write(spec_dir.join("kernel.json"), spec.to_string()).unwrap();
    tmp
}
