//! The kernel under real Jupyter clients' lifecycle calls: `restart_kernel` from
//! jupyter_client (`clients/restart_kernel.py`): the old kernel and its runtime are gone, the
//! new kernel has the library loaded and none of the old variables. `jupyter console` typed
//! into through a pseudo-terminal (`clients/console.py`).
//!
//! Needs the test venv (`python/`); two library loads, 20-60 s with a warm build cache.

mod python;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[test]
fn restart_kernel_from_jupyter_client() {
    let python = python::venv_python();
    let spec = python::kernelspec("ferrolab-test", "evcxr");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/restart_kernel.py");
    let out = python::output_within(
        Command::new(&python)
            .arg(&script)
            .env("JUPYTER_PATH", spec.path())
            .env("FERROLAB_HISTORY_FILE", spec.path().join("history.jsonl")),
        Duration::from_secs(900),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "restart_kernel.py failed:\n{stderr}");
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    eprintln!("{seen}");
    assert_eq!(seen["defined"], "ok", "{seen}");
    assert_eq!(seen["old_kernel_gone"], true, "{seen}");
    assert_eq!(seen["old_children_left"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["new_pid_differs"], true, "{seen}");
    assert_eq!(
        seen["library_after"],
        serde_json::json!(["ok", "34826"]),
        "{seen}"
    );
    assert_eq!(seen["kept_after"][0], "error", "{seen}");
}

/// `jupyter console` as a person uses it, through a pty (`clients/console.py`, pexpect): a
/// value, a multi-line `fn` continued because the kernel says it is incomplete, a compile
/// error, Ctrl-C during `fit` with the model kept, and exit.
#[test]
fn jupyter_console_in_a_pty() {
    let python = python::venv_python();
    let spec = python::kernelspec("ferrolab-test", "evcxr");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/console.py");
    let out = python::output_within(
        Command::new(&python)
            .arg(&script)
            .env("JUPYTER_PATH", spec.path())
            .env("JUPYTER_RUNTIME_DIR", spec.path().join("runtime"))
            .env("FERROLAB_HISTORY_FILE", spec.path().join("history.jsonl"))
            .env("IPYTHONDIR", spec.path().join("ipython")),
        Duration::from_secs(900),
    );
    let screen = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "console.py failed:\n{screen}");
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{screen}", String::from_utf8_lossy(&out.stdout)));
    let steps = [
        "value",
        "continues",
        "fn defined",
        "fn called",
        "compile error",
        "model built",
        "training",
        "interrupted",
        "model kept",
        "exit",
    ];
    let missed: Vec<_> = steps.iter().filter(|s| seen[**s] != true).collect();
    assert!(missed.is_empty(), "steps not seen: {missed:?}\n{seen}\n{screen}");
}

/// Jupyter Kernel Gateway (`clients/gateway.py`): four kernels through its REST API at
/// once, a library cell on each over its websocket, all deleted with nothing left behind.
/// Prints memory per kernel and the time of the four concurrent first cells.
#[test]
fn four_kernels_behind_kernel_gateway() {
    let python = python::venv_python();
    let spec = python::kernelspec("ferrolab-test", "evcxr");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/gateway.py");
    let log = spec.path().join("gateway.log");
    let out = python::output_within(
        Command::new(&python)
            .arg(&script)
            .env("JUPYTER_PATH", spec.path())
            .env("JUPYTER_RUNTIME_DIR", spec.path().join("runtime"))
            .env("FERROLAB_HISTORY_FILE", spec.path().join("history.jsonl"))
            .env("GATEWAY_LOG", &log),
        Duration::from_secs(900),
    );
    let gateway_log = std::fs::read_to_string(&log).unwrap_or_default();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "gateway.py failed:\n{stderr}\n{gateway_log}"
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    eprintln!("gateway: {seen}");
    assert_eq!(seen["created"], 4, "{seen}");
    for result in seen["results"].as_array().unwrap() {
        assert_eq!(result[0], "34826", "{seen}\n{gateway_log}");
        assert_eq!(result[1], "ok", "{seen}");
    }
    assert_eq!(seen["kernel_processes"], 4, "{seen}");
    assert_eq!(seen["listed_after_delete"], 0, "{seen}");
    assert_eq!(seen["left_after_delete"], serde_json::json!([]), "{seen}");
}

/// CurveZMQ (`clients/encryption.py`): jupyter_client with `transport_encryption="required"`
/// runs cells over tcp and ipc; a client with the HMAC key but not the CURVE keys gets
/// nothing; over plain TCP the kernel's log warns. The kernelspec declares
/// `supported_encryption`, as `ferrolab install` writes it.
#[test]
fn curve_encryption_with_jupyter_client() {
    let python = python::venv_python();
    let spec = python::kernelspec("ferrolab-curve", "mock");
    let file = spec.path().join("kernels/ferrolab-curve/kernel.json");
    let mut kernel: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    kernel["metadata"] = serde_json::json!({ "supported_encryption": ["curve"] });
    std::fs::write(&file, kernel.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/encryption.py");
    let out = python::output_within(
        Command::new(&python)
            .arg(&script)
            .env("JUPYTER_PATH", spec.path())
            .env("JUPYTER_RUNTIME_DIR", spec.path().join("runtime"))
            .env("FERROLAB_HISTORY_FILE", spec.path().join("history.jsonl")),
        Duration::from_secs(180),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "encryption.py failed:\n{stderr}");
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    eprintln!("encryption: {seen}");
    let ok = |v: &str| serde_json::json!(["ok", v]);
    assert_eq!(seen["keys_in_file"], true, "{seen}");
    assert_eq!(seen["tcp_encrypted_cell"], ok("42"), "{seen}");
    assert_eq!(seen["intruder_reply"], serde_json::Value::Null, "{seen}");
    assert_eq!(seen["tcp_after_intruder"], ok("20"), "{seen}");
    assert_eq!(seen["ipc_transport"], "ipc", "{seen}");
    assert_eq!(seen["ipc_encrypted_cell"], ok("42"), "{seen}");
    assert_eq!(seen["plain_cell"], ok("2"), "{seen}");
    assert_eq!(seen["probe_without_curve"], "kernel_info_reply", "{seen}");
    assert_eq!(seen["plain_warns"], true, "{seen}");
    assert_eq!(seen["encrypted_says_so"], true, "{seen}");
    assert_eq!(seen["encrypted_no_warning"], true, "{seen}");
}
