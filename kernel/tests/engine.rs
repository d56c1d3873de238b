//! The real (evcxr) engine through the Jupyter protocol: Rust cells, variables across
//! cells, compile errors, a library cell, display markers, completion, inspection and
//! interrupts that keep state.
//!
//! Slow by nature: one kernel serves every step (one test function, steps in order,
//! failures collected), and its first Rust cell builds the library into the persistent
//! evcxr build dir unless `ferrolab warmup` already did: about 2-4 min cold on two
//! cores, 10-30 s warm (each cell compiles, ≈0.4-1 s). Run it alone with
//! `cargo test -p ferrolab-kernel --test engine -- --nocapture` to see the timings.

mod common;

use common::{result_text, types, Kernel, Msg};
use ferrolab::prelude::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// Long enough for a cold build of the library with dfdx.
const BUILD_TIMEOUT: Duration = Duration::from_secs(900);
const CELL_TIMEOUT: Duration = Duration::from_secs(180);

fn stdout_text(iopub: &[Msg]) -> String {
    iopub
        .iter()
        .filter(|m| m.msg_type() == "stream" && m.content["name"] == "stdout")
        .filter_map(|m| m.content["text"].as_str())
        .collect()
}

struct Steps {
    failures: Vec<String>,
}

impl Steps {
    fn check(&mut self, name: &str, ok: bool, detail: impl std::fmt::Debug) {
        if ok {
            eprintln!("ok    {name}");
        } else {
            eprintln!("FAIL  {name}: {detail:?}");
            self.failures.push(format!("{name}: {detail:?}"));
        }
    }
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    eprintln!("time  {what}: {:.2} s", start.elapsed().as_secs_f64());
    out
}

#[test]
fn real_engine_end_to_end() {
    let started = Instant::now();
    let kernel = Kernel::start_real();
    eprintln!(
        "time  start -> kernel_info: {:.3} s",
        started.elapsed().as_secs_f64()
    );
    let mut steps = Steps { failures: vec![] };

    // Native commands are served while evcxr is still starting.
    let (reply, iopub) = timed(":help while starting", || kernel.execute(":help"));
    let help = result_text(&iopub).unwrap_or_default();
    let listed = [
        ":help",
        ":dep",
        ":vars",
        ":opt",
        ":timing",
        ":clear",
        ":status",
        ":interrupt_grace",
    ]
    .iter()
    .all(|c| help.contains(c));
    steps.check(
        ":help lists commands",
        reply.content["status"] == "ok" && listed,
        &help,
    );

    let (reply, iopub) = timed("first Rust cell 1+1 (waits for start-up)", || {
        kernel.execute_within("1+1", BUILD_TIMEOUT)
    });
    check_start_note(&iopub, &mut steps);
    steps.check(
        "1+1 -> 2",
        reply.content["status"] == "ok" && result_text(&iopub).as_deref() == Some("2"),
        (&reply.content, types(&iopub)),
    );
    // That cell was queued before evcxr was up, so the engine skipped the analyzer warm-up
    // (the cell's own type questions load rust-analyzer sooner).
    steps.check(
        "a queued cell skips the analyzer warm-up",
        kernel.stderr().contains("rust-analyzer loads with it")
            && !kernel.stderr().contains("rust-analyzer ready"),
        kernel.stderr(),
    );
    let (_, iopub) = timed("warm 1+1", || kernel.execute_within("1+1", CELL_TIMEOUT));
    steps.check(
        "warm 1+1 -> 2",
        result_text(&iopub).as_deref() == Some("2"),
        types(&iopub),
    );

    // The profile overrides reach the build: cells (and the library) run without
    // debug assertions, at release speed.
    let (_, iopub) = kernel.execute_within("cfg!(debug_assertions)", CELL_TIMEOUT);
    steps.check(
        "cells build without debug assertions",
        result_text(&iopub).as_deref() == Some("false"),
        types(&iopub),
    );

    kernel.execute_within("let kept = 41;", CELL_TIMEOUT);
    let (_, iopub) = kernel.execute_within("kept + 1", CELL_TIMEOUT);
    steps.check(
        "variable survives",
        result_text(&iopub).as_deref() == Some("42"),
        types(&iopub),
    );

    let (reply, iopub) = kernel.execute_within("let bad: i32 = \"text\";", CELL_TIMEOUT);
    let error = iopub.iter().find(|m| m.msg_type() == "error");
    steps.check(
        "compile error -> error reply",
        reply.content["status"] == "error"
            && reply.content["ename"] == "CompilationError"
            && !reply.content["evalue"].as_str().unwrap_or("").is_empty()
            && !reply.content["traceback"].as_array().is_none_or(Vec::is_empty)
            && error.is_some(),
        &reply.content,
    );

    // The runtime catches panics and evcxr reports success; the engine reports an error.
    let (reply, _) = kernel.execute_within("let before_panic = 1;\npanic!(\"boom\");", CELL_TIMEOUT);
    steps.check(
        "panic -> error reply",
        reply.content["status"] == "error"
            && reply.content["ename"] == "panic"
            && reply.content["evalue"]
                .as_str()
                .is_some_and(|v| v.contains("boom")),
        &reply.content,
    );

    let params = Cnn::<f32, Cpu>::new(&Cpu::default()).summary().total_params();
    let (reply, iopub) = timed("library cell (Cnn summary)", || {
        kernel.execute_within(
            "let dev = Cpu::default();\nlet cnn = Cnn::<f32, Cpu>::new(&dev);\nprintln!(\"params {}\", cnn.summary().total_params());",
            CELL_TIMEOUT,
        )
    });
    let out = stdout_text(&iopub);
    steps.check(
        "library cell prints the CNN's parameter count",
        reply.content["status"] == "ok" && out.contains(&format!("params {params}")),
        (&reply.content, out),
    );

    let (_, iopub) = kernel.execute_within(
        "ferrolab::display::display(&ferrolab::display::Html(\"<b>hi</b>\".into()));\nprintln!(\"after\");\nlet mut h = ferrolab::display::display(&ferrolab::display::Html(\"one\".into()));\nh.update(&ferrolab::display::Html(\"two\".into()));",
        CELL_TIMEOUT,
    );
    let display = iopub.iter().find(|m| m.msg_type() == "display_data");
    steps.check(
        "display marker -> display_data",
        display.is_some_and(|d| d.content["data"]["text/html"] == "<b>hi</b>")
            && stdout_text(&iopub) == "after\n"
            && types(&iopub).iter().filter(|t| **t == "display_data").count() == 2
            && types(&iopub).contains(&"update_display_data"),
        types(&iopub),
    );

    let (reply, _) = kernel.request_within(
        "complete_request",
        json!({ "code": "let kept_twice = kept * 2; kep", "cursor_pos": 30 }),
        CELL_TIMEOUT,
    );
    let matches = reply.content["matches"].as_array().cloned().unwrap_or_default();
    steps.check(
        "completion finds a variable",
        matches.iter().any(|m| m == "kept"),
        &reply.content,
    );
    let (reply, _) = kernel.request("complete_request", json!({ "code": ":ti", "cursor_pos": 3 }));
    steps.check(
        "completion of : commands",
        reply.content["matches"] == json!([":timing"]),
        &reply.content,
    );

    let (reply, _) = kernel.request_within(
        "inspect_request",
        json!({ "code": "kept", "cursor_pos": 2, "detail_level": 0 }),
        CELL_TIMEOUT,
    );
    let text = reply.content["data"]["text/plain"].as_str().unwrap_or("");
    steps.check(
        "inspect a variable shows its type",
        reply.content["found"] == true && text.contains("i32"),
        &reply.content,
    );

    let (_, iopub) = kernel.execute_within(":vars", CELL_TIMEOUT);
    let vars = format!("{iopub:?}");
    steps.check(
        ":vars lists variables",
        vars.contains("kept") && vars.contains("cnn"),
        types(&iopub),
    );

    errors_at_the_cells_lines(&kernel, &mut steps);
    output_in_order(&kernel, &mut steps);
    interrupt_keeps_state(&kernel, &mut steps);
    interrupt_stops_training_and_keeps_the_model(&kernel, &mut steps);
    completions_rank_the_types_own_items(&kernel, &mut steps);
    interrupt_during_the_build(&kernel, &mut steps);
    interrupt_escalates_and_names_lost_variables(&kernel, &mut steps);
    evcxr_commands_keep_working(&kernel, &mut steps);

    assert!(
        steps.failures.is_empty(),
        "failed steps: {:#?}\nkernel stderr:\n{}",
        steps.failures,
        kernel.stderr()
    );
}

fn traceback(reply: &Msg) -> String {
    reply.content["traceback"]
        .as_array()
        .map(|t| t.iter().filter_map(|l| l.as_str()).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

/// Nothing of evcxr's generated crate reaches the learner.
fn no_generated_code(text: &str) -> bool {
    ![
        "src/lib.rs",
        "evcxr_variable_store",
        "run_user_code",
        "evcxr_internal",
    ]
    .iter()
    .any(|g| text.contains(g))
}

/// Compile errors and panics point at the cell's own lines; learner's slips are read as meant.
fn errors_at_the_cells_lines(kernel: &Kernel, steps: &mut Steps) {
    let (reply, iopub) = kernel.execute_within("let fine = 1;\nlet epochs: usize = \"10\";", CELL_TIMEOUT);
    let tb = traceback(&reply);
    steps.check(
        "a compile error is drawn on the cell's line",
        reply.content["ename"] == "CompilationError"
            && tb.contains("error[E0308]: mismatched types")
            && tb.contains("--> cell:2:")
            && tb.contains("2 | let epochs: usize = \"10\";")
            && tb.contains("^^^^")
            && no_generated_code(&format!("{iopub:?}")),
        &tb,
    );

    let (reply, iopub) = kernel.execute_within("let a_value = 5;\nlet b_value = a_value * 2", CELL_TIMEOUT);
    let (_, sum) = kernel.execute_within("a_value + b_value", CELL_TIMEOUT);
    steps.check(
        "a last `let` without `;` runs as meant",
        reply.content["status"] == "ok" && result_text(&sum).as_deref() == Some("15"),
        (&reply.content, types(&iopub)),
    );

    let (reply, _) = kernel.execute_within("Cnn", CELL_TIMEOUT);
    let evalue = reply.content["evalue"].as_str().unwrap_or("");
    steps.check(
        "a bare type gets advice, not a cascade",
        reply.content["status"] == "error" && evalue.contains("?Cnn") && !traceback(&reply).contains("E0"),
        &reply.content,
    );

    let (reply, _) = kernel.execute_within("los_value * 2", CELL_TIMEOUT);
    steps.check(
        "an unknown name is rustc's E0425 on the cell",
        traceback(&reply).contains("E0425") && traceback(&reply).contains("--> cell:1:1"),
        &reply.content,
    );

    let (reply, iopub) = kernel.execute_within("let v = vec![1, 2, 3];\nlet i = 3;\nv[i]", CELL_TIMEOUT);
    let tb = traceback(&reply);
    let stderr: String = iopub
        .iter()
        .filter(|m| m.content["name"] == "stderr")
        .filter_map(|m| m.content["text"].as_str())
        .collect();
    steps.check(
        "a panic names its cell line, without the runtime's frames",
        reply.content["ename"] == "panic"
            && tb.contains("panic at cell line 3: index out of bounds")
            && no_generated_code(&tb)
            && !tb.contains("std::")
            && !stderr.contains("panicked at"),
        (&tb, &stderr),
    );
    let (_, iopub) = kernel.execute_within(":backtrace", CELL_TIMEOUT);
    let full = result_text(&iopub).unwrap_or_default();
    steps.check(
        ":backtrace shows the last panic's every frame",
        full.contains("panic") && full.lines().count() > 5,
        &full,
    );
    let (_, iopub) = kernel.execute_within("kept + 1", CELL_TIMEOUT);
    steps.check(
        "variables survive a panic",
        result_text(&iopub).as_deref() == Some("42"),
        types(&iopub),
    );
    let (reply, _) = kernel.execute_within(
        "let dev = Cpu::seed_from_u64(0);\nlet model = Cnn::<f32, Cpu>::new(&dev);\nlet x: Tensor<Dyn4, f32, Cpu> = dev.zeros_like(&(2, 3, 28, 28));\nlet y = model.forward(x);",
        CELL_TIMEOUT,
    );
    let tb = traceback(&reply);
    steps.check(
        "a shape error in a model names the layer, the library's frame and the cell line that called it",
        reply.content["ename"] == "panic"
            && tb.contains("Cnn: expected input (batch, 1, 28, 28), got shape (2, 3, 28, 28)")
            && tb.contains("at dfdx-0.13.0/src/nn/module.rs")
            && tb.contains("panic at cell line 4:")
            && tb.contains("  let y = model.forward(x);")
            && tb.contains("in your cell, line 4")
            && no_generated_code(&tb),
        &tb,
    );
}

/// Output keeps its order (stdout, stderr, evcxr content blocks) and comes in few messages.
fn output_in_order(kernel: &Kernel, steps: &mut Steps) {
    let (_, iopub) = kernel.execute_within("for i in 0..200 { println!(\"line {i}\"); }", CELL_TIMEOUT);
    let streams = iopub.iter().filter(|m| m.msg_type() == "stream").count();
    steps.check(
        "200 lines arrive in a few stream messages",
        stdout_text(&iopub).lines().count() == 200 && streams <= 10,
        streams,
    );
    let (_, iopub) = kernel.execute_within(
        "println!(\"a\");\neprintln!(\"b\");\nprintln!(\"c\");\neprintln!(\"d\");",
        CELL_TIMEOUT,
    );
    let stream = |name: &str| -> String {
        iopub
            .iter()
            .filter(|m| m.msg_type() == "stream" && m.content["name"] == name)
            .filter_map(|m| m.content["text"].as_str())
            .collect()
    };
    // A panic is known from the hook, not from text: this cell only prints the words.
    let (reply, fake) = kernel.execute_within(
        "eprintln!(\"thread 'main' panicked at src/lib.rs:1:1:\");\n5",
        CELL_TIMEOUT,
    );
    steps.check(
        "text that reads like a panic is not one",
        reply.content["status"] == "ok" && result_text(&fake).as_deref() == Some("5"),
        (&reply.content, types(&fake)),
    );
    // Two pipes cannot order lines written in the same instant; each stream keeps its own
    // order, and the last stderr line comes with its cell.
    steps.check(
        "every stderr line arrives with its cell, the last one included",
        stream("stdout") == "a\nc\n" && stream("stderr") == "b\nd\n",
        types(&iopub),
    );
    let (_, iopub) = kernel.execute_within(
        "println!(\"before\");\nprintln!(\"EVCXR_BEGIN_CONTENT text/html\\n<b>mid</b>\\nEVCXR_END_CONTENT\");\nprintln!(\"after\");\n6 * 7",
        CELL_TIMEOUT,
    );
    let shown: Vec<String> = iopub
        .iter()
        .filter_map(|m| match m.msg_type() {
            "stream" => m.content["text"].as_str().map(|t| format!("stream {t}")),
            "display_data" => m.content["data"]["text/html"]
                .as_str()
                .map(|t| format!("display {t}")),
            "execute_result" => m.content["data"]["text/plain"]
                .as_str()
                .map(|t| format!("result {t}")),
            _ => None,
        })
        .collect();
    steps.check(
        "an evcxr content block mid-cell is its own display, in order",
        shown
            == [
                "stream before\n",
                "display <b>mid</b>",
                "stream after\n",
                "result 42",
            ],
        &shown,
    );
}

/// `history.` offers History's own items, without blanket-trait methods or display plumbing.
fn completions_rank_the_types_own_items(kernel: &Kernel, steps: &mut Steps) {
    let code = "history.";
    let (reply, _) = kernel.request_within(
        "complete_request",
        json!({ "code": code, "cursor_pos": code.len() }),
        CELL_TIMEOUT,
    );
    let matches: Vec<String> = reply.content["matches"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(str::to_string))
        .collect();
    let noise = ["try_into", "into", "evcxr_display", "borrow", "type_id"];
    steps.check(
        "completion lists the type's own items, no blanket noise",
        matches.iter().any(|m| m.starts_with("epochs"))
            && !matches
                .iter()
                .any(|m| noise.iter().any(|n| m.split('(').next() == Some(n))),
        &matches,
    );
}

/// Stopping a cell while it still builds says so in one sentence, not cargo's JSON.
fn interrupt_during_the_build(kernel: &Kernel, steps: &mut Steps) {
    // A fresh `fit` instantiation compiles for seconds.
    let code = "let mut slow_build = Mlp::<f32, Cpu>::new(&Cpu::seed_from_u64(1), 64, 16, 10);\nlet slow_history = fit(&mut slow_build, &data, &FitConfig::default().epochs(1)).unwrap();";
    let id = kernel.send(
        &kernel.shell,
        "execute_request",
        json!({ "code": code, "silent": false, "store_history": true }),
    );
    std::thread::sleep(Duration::from_millis(700));
    kernel.control("interrupt_request", json!({}));
    let reply = kernel.reply_within(&kernel.shell, &id, CELL_TIMEOUT);
    kernel.wait_idle(&id, CELL_TIMEOUT);
    steps.check(
        "an interrupted build says only that",
        reply.content["evalue"] == "the build was stopped; no variables were lost."
            && traceback(&reply).len() < 200,
        &reply.content,
    );
}

/// A completion or inspection sent while the engine starts waits for it (bounded), instead
/// of answering nothing at once; its own kernel, since the main test's first cell must find
/// the engine starting.
#[test]
fn requests_during_start_up_wait_for_the_engine() {
    let kernel = Kernel::start_real();
    let asked = Instant::now();
    let (reply, _) = kernel.request_within(
        "complete_request",
        json!({ "code": "String::wi", "cursor_pos": 10 }),
        CELL_TIMEOUT,
    );
    let waited = asked.elapsed().as_secs_f64();
    let matches = reply.content["matches"].as_array().cloned().unwrap_or_default();
    eprintln!("time  completion during start-up: {waited:.2} s");
    // Within the bound the engine answers; past it (a cold or busy machine) the reply comes
    // after the full wait, never empty at once.
    assert!(
        matches.iter().any(|m| m == "with_capacity") || waited >= 11.5,
        "{:?} after {waited:.2} s\n{}",
        reply.content,
        kernel.stderr()
    );
    let (reply, _) = kernel.request_within(
        "inspect_request",
        json!({ "code": "Vec", "cursor_pos": 2, "detail_level": 0 }),
        CELL_TIMEOUT,
    );
    // Vec's documentation, or (past the bound) a sentence saying the engine is loading.
    let text = reply.content["data"]["text/plain"].as_str().unwrap_or("");
    assert!(
        reply.content["found"] == true && (text.contains("Vec") || text.contains("still starting")),
        "{:?}",
        reply.content
    );
}

/// The first cell, sent while the engine starts, says so in a display that its output then
/// clears (not on stderr, which a notebook would keep).
fn check_start_note(iopub: &[Msg], steps: &mut Steps) {
    let note = iopub.iter().position(|m| {
        m.msg_type() == "display_data"
            && m.content["transient"]["display_id"].is_string()
            && m.content["data"]["text/plain"]
                .as_str()
                .is_some_and(|t| t.contains("Waiting for the Rust engine"))
    });
    let cleared = iopub.iter().position(|m| m.msg_type() == "clear_output");
    let on_stderr = iopub
        .iter()
        .any(|m| m.content["text"].as_str().is_some_and(|t| t.contains("Waiting")));
    steps.check(
        "the start-up note is a display the cell clears",
        matches!((note, cleared), (Some(n), Some(c)) if n < c) && !on_stderr,
        types(iopub),
    );
}

/// Sends `code`, waits until a stdout line satisfying `started` arrives, then sends an
/// interrupt_request. Returns whether the cell was seen running, the execute_reply and
/// the seconds from the interrupt to that reply.
fn run_then_interrupt(kernel: &Kernel, code: &str, started: impl Fn(&str) -> bool) -> (bool, Msg, f64) {
    let id = kernel.send(
        &kernel.shell,
        "execute_request",
        json!({ "code": code, "silent": false, "store_history": true }),
    );
    let deadline = Instant::now() + CELL_TIMEOUT;
    let mut running = false;
    while Instant::now() < deadline && !running {
        if let Some(m) = kernel.recv_on(&kernel.iopub, Duration::from_millis(200)) {
            if m.parent["msg_id"] == id && m.content["execution_state"] == "idle" {
                break; // finished without running (e.g. a compile error)
            }
            // Lines arrive batched: any line of a stream message may be the one.
            running = m.parent["msg_id"] == id
                && m.content["text"]
                    .as_str()
                    .is_some_and(|t| t.lines().any(&started));
        }
    }
    let sent = Instant::now();
    let reply = kernel.control("interrupt_request", json!({}));
    assert_eq!(
        reply.content["status"], "ok",
        "interrupt_reply: {:?}",
        reply.content
    );
    let exec = kernel.reply_within(&kernel.shell, &id, CELL_TIMEOUT);
    (running, exec, sent.elapsed().as_secs_f64())
}

/// The library's `fit`, interrupted through the protocol, stops at the next batch; the cell
/// completes, and the model (built in an earlier cell) is usable and keeps what it learned.
fn interrupt_stops_training_and_keeps_the_model(kernel: &Kernel, steps: &mut Steps) {
    let (reply, _) = kernel.execute_within(
        "let data = ferrolab::data::digits();\nlet mut mlp = Mlp::<f32, Cpu>::new(&Cpu::seed_from_u64(0), 64, 32, 10);",
        CELL_TIMEOUT,
    );
    steps.check("model cell", reply.content["status"] == "ok", &reply.content);
    let code = "let history = fit(&mut mlp, &data, &FitConfig::default().epochs(1_000_000)).unwrap();";
    let (running, exec, secs) = run_then_interrupt(kernel, code, |t| t.starts_with("epoch 3/"));
    eprintln!("time  interrupt during fit -> execute_reply: {secs:.3} s");
    steps.check(
        "interrupt during fit completes the cell",
        running && exec.content["status"] == "ok",
        &exec.content,
    );
    let (_, iopub) = kernel.execute_within(
        "(history.interrupted, evaluate(&mlp, &data, 256).unwrap().accuracy > 0.5)",
        CELL_TIMEOUT,
    );
    steps.check(
        "after the interrupt, history says so and the model is trained",
        result_text(&iopub).as_deref() == Some("(true, true)"),
        types(&iopub),
    );
}

/// A cell that polls a SIGINT flag (as the library's `fit` does with its cancel
/// flag) stops cleanly; earlier variables survive.
fn interrupt_keeps_state(kernel: &Kernel, steps: &mut Steps) {
    let code = r#"
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
extern "C" fn on_sigint(_: i32) { STOP.store(true, std::sync::atomic::Ordering::SeqCst); }
unsafe extern "C" { fn signal(sig: i32, handler: extern "C" fn(i32)) -> usize; }
unsafe { signal(2, on_sigint); }
println!("polling");
let mut polls = 0u64;
while !STOP.load(std::sync::atomic::Ordering::SeqCst) {
    std::thread::sleep(std::time::Duration::from_millis(5));
    polls += 1;
}
println!("stopped cleanly");
"#;
    let (running, exec, secs) = run_then_interrupt(kernel, code, |t| t == "polling");
    eprintln!("time  interrupt -> execute_reply: {secs:.3} s");
    steps.check(
        "cooperative interrupt completes the cell",
        running && exec.content["status"] == "ok",
        &exec.content,
    );
    let (_, iopub) = kernel.execute_within("kept + 1", CELL_TIMEOUT);
    steps.check(
        "variable kept after interrupt",
        result_text(&iopub).as_deref() == Some("42"),
        types(&iopub),
    );
}

/// A cell that ignores the interrupt is killed after the grace period, and the
/// error names the variables that were lost.
fn interrupt_escalates_and_names_lost_variables(kernel: &Kernel, steps: &mut Steps) {
    kernel.execute(":interrupt_grace 1");
    kernel.execute_within("let doomed = 5u8;", CELL_TIMEOUT);
    let code = "println!(\"spinning\");\nloop { std::thread::sleep(std::time::Duration::from_millis(5)); }";
    let (running, exec, secs) = run_then_interrupt(kernel, code, |t| t == "spinning");
    eprintln!("time  interrupt (escalated) -> execute_reply: {secs:.3} s");
    let evalue = exec.content["evalue"].as_str().unwrap_or("");
    steps.check(
        "escalated interrupt names lost variables",
        running
            && exec.content["status"] == "error"
            && evalue.contains("doomed: u8")
            && evalue.contains("kept: i32"),
        &exec.content,
    );
    let (_, iopub) = kernel.execute_within("1+2", CELL_TIMEOUT);
    steps.check(
        "runtime usable after restart",
        result_text(&iopub).as_deref() == Some("3"),
        types(&iopub),
    );
}

/// evcxr's own commands: `:timing`, `:dep` (a local crate), and `:clear`, after which
/// the library and its prelude are back.
fn evcxr_commands_keep_working(kernel: &Kernel, steps: &mut Steps) {
    kernel.execute_within(":timing", CELL_TIMEOUT);
    let (_, iopub) = kernel.execute_within("2+3", CELL_TIMEOUT);
    steps.check(
        ":timing reports each cell's time",
        stdout_text(&iopub).contains("Took "),
        types(&iopub),
    );
    kernel.execute_within(":timing", CELL_TIMEOUT);

    let dep = tempfile::tempdir().unwrap();
    std::fs::create_dir(dep.path().join("src")).unwrap();
    std::fs::write(
        dep.path().join("Cargo.toml"),
        "[package]\nname = \"tinydep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(dep.path().join("src/lib.rs"), "pub fn seven() -> u32 { 7 }\n").unwrap();
    let line = format!(":dep tinydep = {{ path = {:?} }}", dep.path().to_str().unwrap());
    let (reply, _) = kernel.execute_within(&line, CELL_TIMEOUT);
    let (_, iopub) = kernel.execute_within("tinydep::seven() * 6", CELL_TIMEOUT);
    steps.check(
        ":dep adds a crate",
        reply.content["status"] == "ok" && result_text(&iopub).as_deref() == Some("42"),
        (&reply.content, types(&iopub)),
    );

    kernel.execute_within("let before_clear = 1u8;", CELL_TIMEOUT);
    let (reply, _) = kernel.execute_within(":clear", CELL_TIMEOUT);
    let (gone, _) = kernel.execute_within("before_clear", CELL_TIMEOUT);
    let (_, iopub) = kernel.execute_within(
        "Cnn::<f32, Cpu>::new(&Cpu::default()).summary().total_params()",
        CELL_TIMEOUT,
    );
    steps.check(
        ":clear forgets variables and keeps the library",
        reply.content["status"] == "ok"
            && gone.content["status"] == "error"
            && result_text(&iopub).as_deref() == Some("34826"),
        (&gone.content, types(&iopub)),
    );

    // `:clear` with code after it: the code sees the library and the prelude.
    let (reply, iopub) = kernel.execute_within(
        ":clear\nCnn::<f32, Cpu>::new(&Cpu::default()).summary().total_params()",
        CELL_TIMEOUT,
    );
    steps.check(
        ":clear followed by code keeps the library for that code",
        reply.content["status"] == "ok" && result_text(&iopub).as_deref() == Some("34826"),
        (&reply.content, types(&iopub)),
    );
    // The cleared runtime is a new process: its panics are still recognised.
    let (reply, _) = kernel.execute_within("panic!(\"after clear\")", CELL_TIMEOUT);
    steps.check(
        "a panic after :clear is still reported",
        reply.content["ename"] == "panic" && traceback(&reply).contains("cell line 1: after clear"),
        &reply.content,
    );
}
