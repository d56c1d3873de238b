//! The REPL driven through a pseudo-terminal, as a learner would use it.
//!
//! These run the real binary (`ferrolab repl`) with the mock engine, so they need no
//! compiler; history and output folders are temporary.

use rexpect::session::{spawn_command, PtySession};
use std::process::Command;

const TIMEOUT_MS: u64 = 20_000;

fn start(dir: &std::path::Path) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrolab"));
    cmd.args(["repl", "--engine", "mock"])
        .env("FERROLAB_REPL_HISTORY", dir.join("history.txt"))
        .env("FERROLAB_OUTPUT_DIR", dir.join("out"))
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("spawn the REPL");
    p.exp_string("Type :help").expect("banner");
    p.exp_string(">> ").expect("prompt");
    p
}

#[test]
fn an_expression_prints_its_value_and_ctrl_d_exits_with_status_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = start(dir.path());
    p.send_line("6 * 7").unwrap();
    p.exp_string("42").unwrap();
    p.exp_string(">> ").unwrap();
    p.send_control('d').unwrap();
    match p.process().wait().unwrap() {
        rexpect::process::WaitStatus::Exited(_, code) => assert_eq!(code, 0),
        other => panic!("REPL ended with {other:?}"),
    }
}

#[test]
fn ctrl_c_interrupts_a_running_cell_and_variables_stay() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = start(dir.path());
    p.send_line("let kept = 5").unwrap();
    p.exp_string(">> ").unwrap();
    p.send_line(":sleep 60").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    p.send_control('c').unwrap();
    p.exp_string("interrupted").unwrap();
    p.exp_string(">> ").unwrap();
    p.send_line("kept + 1").unwrap();
    p.exp_string("6").unwrap();
}

#[test]
fn ctrl_c_at_the_prompt_clears_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = start(dir.path());
    p.send("1 + ").unwrap();
    p.send_control('c').unwrap();
    p.exp_string(">> ").unwrap();
    // Had the line been kept, this would be 1 + 100 + 23 = 124.
    p.send_line("100 + 23").unwrap();
    p.exp_string("123\r\n").unwrap();
}

#[test]
fn history_is_recalled_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = start(dir.path());
    p.send_line("1000 + 337").unwrap();
    p.exp_string("1337").unwrap();
    p.exp_string(">> ").unwrap();
    p.send_control('d').unwrap();
    p.process().wait().unwrap();

    let mut p = start(dir.path());
    p.send("\x1b[A").unwrap(); // the up arrow brings back the last cell
    p.send_line("").unwrap();
    p.exp_string("1337").unwrap();
}

#[test]
fn a_display_is_drawn_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = start(dir.path());
    p.send_line(":display shown in the terminal").unwrap();
    p.exp_string("shown in the terminal").unwrap();
    p.exp_string(">> ").unwrap();
}

#[test]
fn a_help_cell_prints_the_docs() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = start(dir.path());
    p.send_line("?print").unwrap();
    p.exp_string("print(").expect("the docs of print");
    p.exp_string(">> ").unwrap();
    p.send_line("?no_such_thing").unwrap();
    p.exp_string("no documentation found for `no_such_thing`")
        .unwrap();
    p.exp_string(">> ").unwrap();
}

#[test]
fn tab_completes_from_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = start(dir.path());
    // The only command starting with `:vers` is `:version`.
    p.send(":vers").unwrap();
    p.send("\t").unwrap();
    p.send_line("").unwrap();
    p.exp_string("ferrolab 0.")
        .expect(":version ran after completion");
    p.exp_string(">> ").unwrap();
}
