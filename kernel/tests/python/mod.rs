//! The Python the Jupyter-side and serving tests need: `$FERROLAB_PYTHON`, else the project's test venv
//! under the user cache dir (`~/.cache/ferrolab/venv`), created with pip on first use.

#![allow(dead_code)]

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

/// Runs a client script to its end, or for at most `limit`: a hung client (a heartbeat
/// thread blocked on a peer that refused the handshake, say) would otherwise hold the whole
/// test run until CI's limit. On time-out the script's process group (it and any kernel it
/// started in that group) is killed and the test fails with what it printed so far.
/// Output goes to files, not pipes, so a leftover grandchild cannot keep the reader waiting.
pub fn output_within(command: &mut Command, limit: std::time::Duration) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > limit {
            // SAFETY: kill(2) on the group this child leads; no memory is touched.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let stdout = std::fs::read(&out_path).unwrap_or_default();
    let stderr = std::fs::read(&err_path).unwrap_or_default();
    match status {
        Some(status) => std::process::Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "{command:?} did not finish within {} s and was killed; it printed:\n{}\n{}",
            limit.as_secs(),
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}
