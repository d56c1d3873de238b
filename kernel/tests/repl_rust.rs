//! The REPL with Rust cells (the evcxr engine and the library), driven through a
//! pseudo-terminal: values, a multi-line `fn`, a plot as text art with its file saved, and
//! Ctrl-C during training that keeps the model. One session runs every step, because each
//! start costs seconds (and the first on a machine builds the library for cells: minutes).

use rexpect::session::{spawn_command, PtySession};
use std::process::Command;
use std::time::Duration;

fn start(dir: &std::path::Path) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrolab"));
    cmd.arg("repl")
        .env("FERROLAB_REPL_HISTORY", dir.join("history.txt"))
        .env("FERROLAB_OUTPUT_DIR", dir.join("out"))
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    // Generous: a cold machine builds the library for cells before the prompt.
    let mut p = spawn_command(cmd, Some(900_000)).expect("spawn the REPL");
    p.exp_string("Type :help").expect("banner");
    p.exp_string(">> ").expect("prompt");
    p
}

/// Sends one line and waits for the next prompt, returning what came before it.
fn cell(p: &mut PtySession, line: &str) -> String {
    p.send_line(line).unwrap();
    p.exp_string(">> ").unwrap_or_else(|e| panic!("no prompt after {line:?}: {e}"))
}

#[test]
fn rust_cells_in_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = start(dir.path());

    assert!(cell(&mut p, "40 + 2").contains("42"));

    // An open brace keeps the editor reading; the function exists afterwards.
    p.send_line("fn double(x: i32) -> i32 {").unwrap();
    p.send_line("    x * 2").unwrap();
    let out = cell(&mut p, "}");
    assert!(!out.contains("error"), "{out}");
    assert!(cell(&mut p, "double(21)").contains("42"));

    let out = cell(
        &mut p,
        "ferrolab::display::display(&ferrolab::plot::LineChart::new().line_y(\"y\", &[1.0, 4.0, 9.0, 16.0]));",
    );
    assert!(out.chars().any(|c| ('\u{2800}'..='\u{28ff}').contains(&c)), "braille text art: {out}");
    let svg = out.split("[svg: ").nth(1).and_then(|rest| rest.split(']').next()).expect("saved svg path");
    assert!(std::fs::read_to_string(svg.trim()).unwrap().contains("<svg"), "{svg}");

    cell(&mut p, "let data = ferrolab::data::digits().stratified_split(0.2, 0).unwrap();");
    cell(&mut p, "let mut model = Mlp::<f32, Cpu>::new(&Cpu::seed_from_u64(0), 64, 32, 10);");
    p.send_line(
        "let history = fit(&mut model, &data.train, &FitConfig::default().epochs(1_000_000).verbose(Verbose::Silent)).unwrap();",
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(6));
    p.send_control('c').unwrap();
    p.exp_string(">> ").expect("the cell ends after Ctrl-C");
    assert!(cell(&mut p, "history.interrupted").contains("true"));
    assert!(cell(&mut p, "predict(&model, &data.test, 64).unwrap().len()").contains("360"));

    p.send_control('d').unwrap();
    match p.process().wait().unwrap() {
        rexpect::process::WaitStatus::Exited(_, code) => assert_eq!(code, 0),
        other => panic!("REPL ended with {other:?}"),
    }
}
