//! The REPL with Rust cells (the evcxr engine and the library), driven through a
//! pseudo-terminal: values, a multi-line `fn`, a plot as text art with its file saved, the
//! engine's notes kept off the screen, Ctrl-D (Ctrl-C during training: `repl_interrupt.rs`).
//! One session runs every step, because each start costs seconds (and the first on a
//! machine builds the library for cells: minutes).

mod pty;

use pty::start_rust_repl as start;
use rexpect::session::PtySession;

/// Sends one line, waits until `expected` appears, then for the prompt after it. Each cell
/// ends in a value to wait for (rustyline redraws `>> ` while editing), and the next line
/// goes only after the prompt is back, so each cell's output is read before the next starts.
fn cell(p: &mut PtySession, line: &str, expected: &str) -> String {
    p.send_line(line).unwrap();
    let out = p
        .exp_string(expected)
        .unwrap_or_else(|e| panic!("{line:?} did not show {expected:?}: {e}"));
    p.exp_string(">> ").unwrap();
    out
}

#[test]
fn rust_cells_in_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = start(dir.path());

    let first = cell(&mut p, "40 + 2", "42");
    // The engine's start-up notes go to the session's log, not over the prompt.
    assert!(!first.contains("context ready"), "{first}");
    let log = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|session| session.unwrap().path().join("engine.log"))
        .find(|log| log.exists())
        .expect("engine.log in the session folder");
    let notes = std::fs::read_to_string(&log).unwrap();
    assert!(notes.contains("evcxr context ready"), "{notes}");

    // An open brace keeps the editor reading until it closes.
    p.send_line("fn double(x: i32) -> i32 {").unwrap();
    p.send_line("    x * 2").unwrap();
    cell(&mut p, "} double(2100)", "4200");
    cell(&mut p, "double(3100)", "6200");

    // Tab asks the engine (rust-analyzer): a variable from an earlier cell completes.
    p.send_line("let completed_value = 21;").unwrap();
    p.exp_string(">> ").unwrap();
    p.send("complet").unwrap();
    p.send("\t").unwrap();
    p.send_line(" * 2").unwrap();
    p.exp_string("42").expect("completed_value * 2");
    p.exp_string(">> ").unwrap();

    // A compile error reads like rustc's: code, message, the cell's line and the span under
    // the culprit, and nothing of evcxr's generated crate.
    let error = cell(&mut p, "let wrong: u32 = \"text\";", "expected due to this");
    assert!(error.contains("error[E0308]: mismatched types"), "{error}");
    assert!(error.contains("--> cell:1:18"), "{error}");
    assert!(error.contains("1 | let wrong: u32 = \"text\";"), "{error}");
    assert!(
        !error.contains("src/lib.rs") && !error.contains("evcxr"),
        "{error}"
    );
    p.send_line("wrong_too + 1").unwrap();
    p.exp_regex(r"\^+").expect("the offending span is underlined");
    p.exp_string(">> ").unwrap();

    // A last `let` without its `;` runs as meant.
    p.send_line("let no_semicolon = 20").unwrap();
    p.exp_string(">> ").unwrap();
    cell(&mut p, "no_semicolon + 1", "21");

    // A bare type gets advice instead of rustc's cascade.
    let advice = cell(&mut p, "Cnn", "?Cnn");
    assert!(!advice.contains("E0423"), "{advice}");

    // A panic names the cell line; the runtime's frames stay out; `:backtrace` has them all.
    p.send_line("let v = vec![1, 2, 3];").unwrap();
    p.exp_string(">> ").unwrap();
    let panic = cell(&mut p, "v[3]", "(`:backtrace` shows every frame)");
    assert!(
        panic.contains("panic at cell line 1: index out of bounds"),
        "{panic}"
    );
    assert!(
        !panic.contains("stack backtrace") && !panic.contains("evcxr"),
        "{panic}"
    );
    cell(&mut p, ":backtrace", "std::");
    cell(&mut p, "v.len()", "3");

    p.send_line("ferrolab::display::display(&ferrolab::plot::LineChart::new().line_y(\"y\", &[1.0, 4.0, 9.0, 16.0]));")
        .unwrap();
    let (art, saved) = p
        .exp_regex(r"\[svg: [^\]\r\n]+\]")
        .expect("the plot's svg is saved");
    p.exp_string(">> ").unwrap();
    // rexpect hands back bytes as chars: braille U+2800..U+28FF is E2 A0..A3 in UTF-8.
    let bytes: Vec<char> = art.chars().collect();
    let braille = bytes
        .windows(2)
        .any(|w| w[0] == '\u{e2}' && ('\u{a0}'..='\u{a3}').contains(&w[1]));
    assert!(braille, "braille text art: {art}");
    let path = saved.trim_start_matches("[svg: ").trim_end_matches(']');
    assert!(std::fs::read_to_string(path).unwrap().contains("<svg"), "{path}");

    p.send_control('d').unwrap();
    match p.process().wait().unwrap() {
        rexpect::process::WaitStatus::Exited(_, code) => assert_eq!(code, 0),
        other => panic!("REPL ended with {other:?}"),
    }
}
