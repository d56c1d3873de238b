//! Protocol tests: every message type the kernel supports, against the real
//! binary over loopback ZeroMQ, with the mock engine behind it.

mod common;

use common::{types, Kernel, TIMEOUT};
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn kernel_info_reports_rust_and_protocol_5_3() {
    let k = Kernel::start();
    let (reply, iopub) = k.request("kernel_info_request", json!({}));
    assert_eq!(reply.msg_type(), "kernel_info_reply");
    let c = &reply.content;
    assert_eq!(c["status"], "ok");
    assert_eq!(c["protocol_version"], "5.3");
    assert_eq!(c["implementation"], "ferrolab");
    assert_eq!(c["language_info"]["name"], "rust");
    assert_eq!(c["language_info"]["file_extension"], ".rs");
    assert_eq!(types(&iopub), ["status", "status"]);
    assert_eq!(iopub[0].content["execution_state"], "busy");
    // Reply headers are the kernel's own, with the request as parent.
    assert_eq!(reply.header["version"], "5.3");
    assert!(reply.header["date"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn kernel_info_on_control() {
    let k = Kernel::start();
    let reply = k.control("kernel_info_request", json!({}));
    assert_eq!(reply.content["language_info"]["name"], "rust");
}

#[test]
fn execute_result_and_iopub_order_and_counts() {
    let k = Kernel::start();
    let (reply, iopub) = k.execute("1+1");
    assert_eq!(reply.content["status"], "ok");
    assert_eq!(reply.content["execution_count"], 1);
    assert_eq!(
        types(&iopub),
        ["status", "execute_input", "execute_result", "status"]
    );
    assert_eq!(iopub[0].content["execution_state"], "busy");
    assert_eq!(iopub[1].content, json!({"code": "1+1", "execution_count": 1}));
    assert_eq!(iopub[2].content["data"]["text/plain"], "2");
    assert_eq!(iopub[2].content["execution_count"], 1);
    assert_eq!(iopub[3].content["execution_state"], "idle");

    let (reply, _) = k.execute("let x = 20\nx * 2 + 2");
    assert_eq!(reply.content["execution_count"], 2);

    // Not stored: the count does not move; silent: no outputs at all.
    let (reply, _) = k.request("execute_request", json!({"code": "3", "store_history": false}));
    assert_eq!(reply.content["execution_count"], 2);
    let (reply, iopub) = k.request("execute_request", json!({"code": "print(\"x\")", "silent": true}));
    assert_eq!(reply.content["status"], "ok");
    assert_eq!(types(&iopub), ["status", "status"]);
    let (reply, _) = k.execute("4");
    assert_eq!(reply.content["execution_count"], 3);
}

#[test]
fn streams_in_order() {
    let k = Kernel::start();
    let (_, iopub) = k.execute("print(\"hello, world\")\neprint(\"oops\")\nprint(\"again\")");
    assert_eq!(
        types(&iopub),
        ["status", "execute_input", "stream", "stream", "stream", "status"]
    );
    assert_eq!(
        iopub[2].content,
        json!({"name": "stdout", "text": "hello, world\n"})
    );
    assert_eq!(iopub[3].content, json!({"name": "stderr", "text": "oops\n"}));
    assert_eq!(iopub[4].content["text"], "again\n");
}

#[test]
fn display_update_and_clear() {
    let k = Kernel::start();
    let (_, iopub) = k.execute(":display #d1 <b>first</b>\n:update #d1 second\n:clear wait\n:display plain");
    assert_eq!(
        types(&iopub),
        [
            "status",
            "execute_input",
            "display_data",
            "update_display_data",
            "clear_output",
            "display_data",
            "status"
        ]
    );
    let d = &iopub[2].content;
    assert_eq!(d["data"]["text/plain"], "<b>first</b>");
    assert_eq!(d["data"]["text/html"], "<pre>&lt;b&gt;first&lt;/b&gt;</pre>");
    assert_eq!(d["transient"]["display_id"], "d1");
    assert_eq!(d["metadata"], json!({}));
    assert_eq!(iopub[3].content["transient"]["display_id"], "d1");
    assert_eq!(iopub[3].content["data"]["text/plain"], "second");
    assert_eq!(iopub[4].content, json!({"wait": true}));
    assert!(iopub[5].content["transient"].get("display_id").is_none());
}

#[test]
fn errors_reach_reply_and_iopub() {
    let k = Kernel::start();
    let (reply, iopub) = k.execute("print(\"before\")\npanic(\"boom\")\nprint(\"after\")");
    let c = &reply.content;
    assert_eq!(c["status"], "error");
    assert_eq!(c["ename"], "panic");
    assert_eq!(c["evalue"], "boom");
    assert!(c["traceback"].as_array().is_some_and(|t| !t.is_empty()));
    assert_eq!(c["execution_count"], 1);
    assert_eq!(
        types(&iopub),
        ["status", "execute_input", "stream", "error", "status"]
    );
    assert_eq!(iopub[3].content["ename"], "panic");

    let (reply, _) = k.execute(":no-such-command");
    assert_eq!(reply.content["ename"], "CommandError");
    // The kernel keeps going after errors.
    let (reply, _) = k.execute("1/0");
    assert_eq!(reply.content["ename"], "ArithmeticError");
    assert_eq!(k.execute("7").0.content["status"], "ok");
}

#[test]
fn native_commands() {
    let k = Kernel::start();
    let (_, iopub) = k.execute(":help");
    let text = iopub[2].content["data"]["text/plain"]
        .as_str()
        .unwrap()
        .to_string();
    for cmd in [
        ":help", ":version", ":display", ":update", ":clear", ":sleep", ":touch",
    ] {
        assert!(text.contains(cmd), "{cmd} missing from {text}");
    }
    let (_, iopub) = k.execute(":version");
    assert_eq!(
        iopub[2].content["data"]["text/plain"],
        format!("ferrolab {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn is_complete_statuses() {
    let k = Kernel::start();
    let status = |code: &str| {
        k.request("is_complete_request", json!({ "code": code }))
            .0
            .content
    };
    assert_eq!(status("1 + 1"), json!({"status": "complete"}));
    assert_eq!(
        status("fn f() {"),
        json!({"status": "incomplete", "indent": "    "})
    );
    assert_eq!(
        status("let s = r#\"open"),
        json!({"status": "incomplete", "indent": ""})
    );
    assert_eq!(status("(]"), json!({"status": "invalid"}));
    assert_eq!(status(":help"), json!({"status": "complete"}));
}

#[test]
fn complete_and_inspect() {
    let k = Kernel::start();
    k.execute("let counter = 1");
    let (reply, _) = k.request("complete_request", json!({"code": "1 + cou", "cursor_pos": 7}));
    let c = &reply.content;
    assert_eq!(c["status"], "ok");
    assert_eq!(c["matches"], json!(["counter"]));
    assert_eq!(
        (c["cursor_start"].as_u64(), c["cursor_end"].as_u64()),
        (Some(4), Some(7))
    );
    // Cursor positions count chars, not bytes.
    let (reply, _) = k.request("complete_request", json!({"code": "é + :he", "cursor_pos": 7}));
    assert_eq!(reply.content["matches"], json!([":help"]));
    assert_eq!(reply.content["cursor_start"], 4);

    let (reply, _) = k.request(
        "inspect_request",
        json!({"code": "print(\"x\")", "cursor_pos": 3, "detail_level": 0}),
    );
    assert_eq!(reply.content["status"], "ok");
    assert_eq!(reply.content["found"], true);
    assert!(reply.content["data"]["text/plain"]
        .as_str()
        .unwrap()
        .contains("stdout"));
    let (reply, _) = k.request("inspect_request", json!({"code": "nothing", "cursor_pos": 2}));
    assert_eq!(reply.content["found"], false);
    assert_eq!(reply.content["data"], json!({}));
}

#[test]
fn history_tail_range_search_and_persistence() {
    let mut k = Kernel::start();
    for code in ["1+1", "print(\"a\")", "1+1", "2*3"] {
        k.execute(code);
    }
    let history = |k: &Kernel, content| k.request("history_request", content).0.content["history"].clone();
    let tail = history(
        &k,
        json!({"hist_access_type": "tail", "n": 2, "output": false, "raw": true}),
    );
    assert_eq!(tail, json!([[1, 3, "1+1"], [1, 4, "2*3"]]));
    let range = history(
        &k,
        json!({"hist_access_type": "range", "session": 0, "start": 1, "stop": 3, "output": true, "raw": true}),
    );
    assert_eq!(
        range,
        json!([[1, 1, ["1+1", "2"]], [1, 2, ["print(\"a\")", null]]])
    );
    let search = history(
        &k,
        json!({"hist_access_type": "search", "pattern": "1+*", "unique": true}),
    );
    assert_eq!(search, json!([[1, 3, "1+1"]]));
    let search = history(
        &k,
        json!({"hist_access_type": "search", "pattern": "*(?a?)", "n": 5}),
    );
    assert_eq!(search, json!([[1, 2, "print(\"a\")"]]));

    // A second kernel on the same file sees the first session.
    let file = k.history_file.clone();
    let shutdown = k.control("shutdown_request", json!({"restart": false}));
    assert_eq!(shutdown.content["status"], "ok");
    assert!(k.wait_exit(TIMEOUT));
    let k2 = Kernel::start_with("tcp", Some(&file));
    k2.execute("5");
    let tail = history(&k2, json!({"hist_access_type": "tail", "n": 2}));
    assert_eq!(tail, json!([[1, 4, "2*3"], [2, 1, "5"]]));
    let previous = history(
        &k2,
        json!({"hist_access_type": "range", "session": -1, "start": 1}),
    );
    assert_eq!(previous.as_array().unwrap().len(), 4);
}

#[test]
fn comm_info_is_empty() {
    let k = Kernel::start();
    let (reply, _) = k.request("comm_info_request", json!({}));
    assert_eq!(reply.content, json!({"status": "ok", "comms": {}}));
}

#[test]
fn unknown_request_gets_error_reply() {
    let k = Kernel::start();
    let (reply, iopub) = k.request("frobnicate_request", json!({}));
    assert_eq!(reply.msg_type(), "frobnicate_reply");
    assert_eq!(reply.content["status"], "error");
    assert_eq!(types(&iopub), ["status", "status"]);
}

#[test]
fn interrupt_on_control_stops_sleep() {
    let k = Kernel::start();
    let start = Instant::now();
    let id = k.send(&k.shell, "execute_request", json!({"code": ":sleep 60"}));
    std::thread::sleep(Duration::from_millis(300));
    let reply = k.control("interrupt_request", json!({}));
    assert_eq!(reply.msg_type(), "interrupt_reply");
    assert_eq!(reply.content["status"], "ok");
    let exec = k.reply(&k.shell, &id);
    assert_eq!(exec.content["status"], "error");
    let iopub = k.wait_idle(&id, TIMEOUT).expect("idle after interrupt");
    assert_eq!(iopub.last().unwrap().content["execution_state"], "idle");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(k.execute("1+2").0.content["status"], "ok");
}

#[test]
fn sigint_interrupts_and_does_not_kill() {
    let mut k = Kernel::start();
    let id = k.send(&k.shell, "execute_request", json!({"code": ":sleep 60"}));
    std::thread::sleep(Duration::from_millis(300));
    let status = std::process::Command::new("kill")
        .args(["-INT", &k.child.id().to_string()])
        .status();
    assert!(status.unwrap().success());
    assert_eq!(k.reply(&k.shell, &id).content["status"], "error");
    assert!(k.child.try_wait().unwrap().is_none(), "kernel died on SIGINT");
    assert_eq!(k.execute("1").0.content["status"], "ok");
}

#[test]
fn control_answers_while_shell_is_busy() {
    let k = Kernel::start();
    let id = k.send(&k.shell, "execute_request", json!({"code": ":sleep 2"}));
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    let reply = k.control("kernel_info_request", json!({}));
    assert_eq!(reply.content["status"], "ok");
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(k.reply(&k.shell, &id).content["status"], "ok");
}

#[test]
fn heartbeat_echoes() {
    let k = Kernel::start();
    k.hb.send("ping-42", 0).unwrap();
    assert!(k.hb.poll(zmq::POLLIN, 5000).unwrap() > 0);
    assert_eq!(k.hb.recv_bytes(0).unwrap(), b"ping-42");
}

#[test]
fn shutdown_replies_and_exits() {
    let mut k = Kernel::start();
    let id = k.send(&k.control, "shutdown_request", json!({"restart": true}));
    let reply = k.reply(&k.control, &id);
    assert_eq!(reply.content, json!({"status": "ok", "restart": true}));
    let iopub = k.wait_idle(&id, TIMEOUT).unwrap();
    assert!(types(&iopub).contains(&"shutdown_reply"));
    assert!(k.wait_exit(TIMEOUT), "kernel did not exit");
    assert!(k.child.wait().unwrap().success());
}

#[test]
fn ipc_transport() {
    let k = Kernel::start_with("ipc", None);
    let (reply, iopub) = k.execute("6*7");
    assert_eq!(reply.content["status"], "ok");
    assert_eq!(iopub[2].content["data"]["text/plain"], "42");
}

#[test]
fn a_new_iopub_subscriber_is_welcomed() {
    let kernel = Kernel::start();
    let endpoint = kernel.iopub.get_last_endpoint().unwrap().unwrap();
    let ctx = zmq::Context::new();
    let late = ctx.socket(zmq::SUB).unwrap();
    late.set_linger(0).unwrap();
    late.connect(&endpoint).unwrap();
    late.set_subscribe(b"").unwrap();
    // Nothing else is published meanwhile, so the first message must be the welcome.
    let welcome = kernel
        .recv_on(&late, Duration::from_secs(10))
        .expect("a message on the new subscription");
    assert_eq!(welcome.msg_type(), "iopub_welcome");
    assert_eq!(welcome.content["subscription"], "");
}

/// A client that dies without a shutdown request must not leave its kernel running.
#[test]
fn exits_when_the_process_that_started_it_dies() {
    let dir = tempfile::tempdir().unwrap();
    let ports: Vec<u16> = (0..5).map(|_| common::free_port()).collect();
    let info = json!({
        "transport": "tcp", "ip": "127.0.0.1", "key": "k", "signature_scheme": "hmac-sha256",
        "shell_port": ports[0], "iopub_port": ports[1], "stdin_port": ports[2],
        "control_port": ports[3], "hb_port": ports[4],
    });
    let file = dir.path().join("connection.json");
    std::fs::write(&file, info.to_string()).unwrap();
    // The shell starts the kernel, prints its pid, lives 2 s (long enough for the kernel
    // to note its parent) and exits without telling the kernel anything.
    let script = "\"$0\" kernel -f \"$1\" >/dev/null 2>\"$2\" & echo $!; sleep 2";
    let out = std::process::Command::new("sh")
        .args(["-c", script, env!("CARGO_BIN_EXE_ferrolab")])
        .arg(&file)
        .arg(dir.path().join("stderr.log"))
        .env("FERROLAB_ENGINE", "mock")
        .env("FERROLAB_HISTORY_FILE", dir.path().join("history.jsonl"))
        .output()
        .unwrap();
    let pid: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let running = || {
        // Gone, or a zombie nobody reaped yet: either way it has exited.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| !stat[stat.rfind(')').unwrap() + 2..].starts_with('Z'))
            .unwrap_or(false)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let still_running = running();
    if still_running {
        // SAFETY: kill with a pid we started; no memory involved.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
    assert!(!still_running, "the orphaned kernel kept running; stderr:\n{log}");
    assert!(log.contains("exited; shutting down"), "{log}");
}

/// After a cell fails with `stop_on_error`, the execute requests already queued come back
/// `aborted` without running (JupyterLab's Run All stops there); later ones run again.
#[test]
fn a_failed_cell_aborts_the_queued_ones() {
    let k = Kernel::start();
    let send = |code: &str, stop_on_error: bool| {
        k.send(
            &k.shell,
            "execute_request",
            json!({ "code": code, "silent": false, "store_history": true, "stop_on_error": stop_on_error }),
        )
    };
    // The first cell is still sleeping when the next two arrive.
    let failing = send(":sleep 0.5\npanic(\"boom\")", true);
    let queued = [send("print(\"ran\")", true), send("let x = 1", true)];
    assert_eq!(k.reply(&k.shell, &failing).content["status"], "error");
    for id in &queued {
        let reply = k.reply(&k.shell, id);
        assert_eq!(reply.content["status"], "aborted", "{:?}", reply.content);
        let iopub = k.wait_idle(id, TIMEOUT).expect("busy/idle around it");
        assert!(
            !iopub
                .iter()
                .any(|m| m.msg_type() == "stream" || m.msg_type() == "execute_input"),
            "an aborted cell does not run: {:?}",
            types(&iopub)
        );
    }
    let (reply, _) = k.execute("x");
    assert_eq!(reply.content["status"], "error", "`let x` never ran");
    // Sent the moment the failed cell is idle (as a notebook runs its next cell): it runs.
    let (reply, _) = k.execute("print(\"next\")");
    assert_eq!(reply.content["status"], "ok", "{:?}", reply.content);
    let (reply, iopub) = k.execute("print(\"runs again\")");
    assert_eq!(reply.content["status"], "ok");
    assert!(format!("{iopub:?}").contains("runs again"));

    // Without stop_on_error the queue carries on.
    let failing = send(":sleep 0.5\npanic(\"boom\")", false);
    let next = send("1 + 1", true);
    assert_eq!(k.reply(&k.shell, &failing).content["status"], "error");
    assert_eq!(k.reply(&k.shell, &next).content["status"], "ok");
}
