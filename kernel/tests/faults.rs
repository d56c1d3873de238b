//! Faults in the real (evcxr) engine: a panic inside evcxr's analysis, the runtime killed
//! mid-cell. Each costs at most the request it hit; the engine, the library and (where the
//! runtime lives) the variables go on.
//!
//! One kernel serves the steps in order (the library loads once, 10-30 s when the evcxr
//! build cache is warm); failures are collected and reported together.
//! `cargo test -p ferrolab-kernel --test faults -- --nocapture` shows each step.

mod common;

use common::{result_text, types, Kernel};
use serde_json::json;
use std::time::Duration;

/// Long enough for a cold build of the library with dfdx.
const BUILD_TIMEOUT: Duration = Duration::from_secs(900);
const CELL_TIMEOUT: Duration = Duration::from_secs(180);

struct Steps(Vec<String>);

impl Steps {
    fn check(&mut self, name: &str, ok: bool, detail: impl std::fmt::Debug) {
        if ok {
            eprintln!("ok    {name}");
        } else {
            eprintln!("FAIL  {name}: {detail:?}");
            self.0.push(format!("{name}: {detail:?}"));
        }
    }
}

/// The reproduction: rust-analyzer panics ("failed to unify type owners") on this
/// completion, inside evcxr, on the engine's thread.
const PANICKING_COMPLETION: &str = "let s = \"héllo wörld 大模型\"; s.len()";

#[test]
fn faults_in_the_engine_cost_one_request() {
    let dir = tempfile::tempdir().unwrap();
    let panic_file = dir.path().join("panic-in");
    let mut kernel = Kernel::start_real_with(&[("FERROLAB_TEST_PANIC_FILE", panic_file.to_str().unwrap())]);
    let mut steps = Steps(vec![]);

    let (reply, _) = kernel.execute_within("let kept = 41u32;", BUILD_TIMEOUT);
    steps.check(
        "a variable is defined",
        reply.content["status"] == "ok",
        &reply.content,
    );

    // A panic in analysis answers that request (empty matches), nothing more.
    let (reply, _) = kernel.request_within(
        "complete_request",
        json!({ "code": PANICKING_COMPLETION, "cursor_pos": 28 }),
        CELL_TIMEOUT,
    );
    steps.check(
        "a panicking completion is answered",
        reply.msg_type() == "complete_reply" && reply.content["status"] == "ok",
        &reply.content,
    );
    let (reply, iopub) = kernel.execute_within("kept + 1", CELL_TIMEOUT);
    steps.check(
        "the variable survives the analysis panic",
        reply.content["status"] == "ok" && result_text(&iopub).as_deref() == Some("42"),
        (&reply.content, types(&iopub), kernel.stderr()),
    );
    let (reply, iopub) = kernel.execute_within(
        "Cnn::<f32, Cpu>::new(&Cpu::default()).summary().total_params()",
        CELL_TIMEOUT,
    );
    steps.check(
        "the library still works after the analysis panic",
        reply.content["status"] == "ok" && result_text(&iopub).as_deref() == Some("34826"),
        (&reply.content, types(&iopub)),
    );
    let (reply, _) = kernel.request_within(
        "complete_request",
        json!({ "code": "let kept_twice = kept * 2; kep", "cursor_pos": 30 }),
        CELL_TIMEOUT,
    );
    steps.check(
        "completion still works after the panic",
        reply.content["matches"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m == "kept")),
        &reply.content,
    );

    // evcxr itself panicking mid-cell (injected: no input is known to do it): the context
    // cannot be trusted, so the engine restarts with the library and names what was lost.
    std::fs::write(&panic_file, "execute").unwrap();
    let (reply, _) = kernel.execute_within("kept + 2", CELL_TIMEOUT);
    let evalue = reply.content["evalue"].as_str().unwrap_or("").to_string();
    steps.check(
        "a panic inside evcxr during a cell restarts the engine and names the lost variables",
        reply.content["ename"] == "EngineRestarted" && evalue.contains("kept: u32"),
        &reply.content,
    );
    let (reply, iopub) = kernel.execute_within(
        "let kept = 7u32; kept * Cnn::<f32, Cpu>::new(&Cpu::default()).summary().total_params() as u32",
        CELL_TIMEOUT,
    );
    steps.check(
        "after the restart the library is loaded",
        reply.content["status"] == "ok" && result_text(&iopub).as_deref() == Some("243782"),
        (&reply.content, types(&iopub)),
    );

    // The runtime SIGKILLed mid-cell: the error names the lost variable, the next cell
    // runs with the library.
    let id = kernel.send(
        &kernel.shell,
        "execute_request",
        json!({ "code": "println!(\"pid {}\", std::process::id());\nstd::thread::sleep(std::time::Duration::from_secs(600));", "silent": false }),
    );
    let pid = runtime_pid(&kernel, &id);
    steps.check(
        "the running cell told its runtime's pid",
        pid.is_some(),
        kernel.stderr(),
    );
    if let Some(pid) = pid {
        // SAFETY: kill(2) with plain integers.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let reply = kernel.reply_within(&kernel.shell, &id, CELL_TIMEOUT);
        steps.check(
            "a killed runtime is an error naming the lost variables",
            reply.content["ename"] == "RuntimeTerminated"
                && reply.content["evalue"]
                    .as_str()
                    .is_some_and(|v| v.contains("kept: u32")),
            &reply.content,
        );
        kernel.wait_idle(&id, CELL_TIMEOUT);
    }
    let (reply, iopub) = kernel.execute_within(
        "Cnn::<f32, Cpu>::new(&Cpu::default()).summary().total_params()",
        CELL_TIMEOUT,
    );
    steps.check(
        "after the kill the next cell runs with the library",
        reply.content["status"] == "ok" && result_text(&iopub).as_deref() == Some("34826"),
        (&reply.content, types(&iopub)),
    );

    // SIGTERM mid-cell: a clean exit, and no runtime, cargo or rustc left running.
    let id = kernel.send(
        &kernel.shell,
        "execute_request",
        json!({ "code": "println!(\"pid {}\", std::process::id());\nstd::thread::sleep(std::time::Duration::from_secs(600));", "silent": false }),
    );
    let pid = runtime_pid(&kernel, &id);
    let started = kernel.descendants();
    steps.check(
        "the kernel has a runtime",
        pid.is_some_and(|p| started.contains(&p)),
        &started,
    );
    // SAFETY: as above.
    unsafe { libc::kill(kernel.child.id() as i32, libc::SIGTERM) };
    let status = kernel.exit_status(CELL_TIMEOUT);
    steps.check(
        "SIGTERM: the kernel exits cleanly",
        status.is_some_and(|s| s.success()),
        status,
    );
    let left: Vec<i32> = started.into_iter().filter(|&p| common::alive(p)).collect();
    steps.check(
        "SIGTERM: no process of the kernel is left",
        left.is_empty(),
        &left,
    );

    assert!(steps.0.is_empty(), "failed steps:\n{}", steps.0.join("\n"));
}

/// The pid a running cell printed as `pid N`.
fn runtime_pid(kernel: &Kernel, id: &str) -> Option<i32> {
    let deadline = std::time::Instant::now() + CELL_TIMEOUT;
    while let Some(msg) = kernel.recv_on(
        &kernel.iopub,
        deadline.saturating_duration_since(std::time::Instant::now()),
    ) {
        if msg.parent["msg_id"] == id && msg.msg_type() == "stream" {
            let text = msg.content["text"].as_str().unwrap_or("");
            if let Some(pid) = text.trim().strip_prefix("pid ") {
                return pid.parse().ok();
            }
        }
    }
    None
}
