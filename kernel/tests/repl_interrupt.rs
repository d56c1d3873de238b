//! Ctrl-C in the REPL while a Rust training cell runs: training stops at the next batch,
//! the cell ends normally, and the model is still there for the next cell; Ctrl-C while a
//! cell builds says only that the build was stopped.

mod pty;

use pty::start_rust_repl as start;

#[test]
fn ctrl_c_during_training_keeps_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = start(dir.path());

    p.send_line(
        "let dev = Cpu::seed_from_u64(0); let data = ferrolab::data::digits(); \
         let mut mlp = Mlp::<f32, Cpu>::new(&dev, 64, 32, 10); 7 * 6",
    )
    .unwrap();
    p.exp_string("42").expect("set-up cell");
    p.exp_string(">> ").unwrap();

    p.send_line(
        "let history = fit(&mut mlp, &data, &FitConfig::default().epochs(100000)).unwrap(); history.epochs()",
    )
    .unwrap();
    p.exp_regex(r"epoch 2/100000: loss").expect("training runs");
    // The batch progress display is drawn as a bar.
    p.exp_regex(r"epoch \d+/100000 \[[=> ]{30}\] \d+/57 loss")
        .expect("a progress bar");
    p.send_control('c').unwrap();
    let before = p.exp_string(">> ").expect("the cell ends after Ctrl-C");
    assert!(!before.contains("lost"), "nothing is lost: {before}");

    assert!(
        before.contains("interrupted in epoch"),
        "fit says it was interrupted: {before}"
    );

    // The model is still there and keeps what it learned (chance is 10%).
    p.send_line("evaluate(&mlp, &data, 256).unwrap().accuracy > 0.5")
        .unwrap();
    p.exp_string("true").expect("the trained model is still usable");
    p.exp_string(">> ").unwrap();

    // Ctrl-C while a cell still builds: one sentence, no cargo output.
    p.send_line("let rebuilt = fit(&mut mlp, &data, &FitConfig::default().epochs(1)).unwrap(); 1")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    p.send_control('c').unwrap();
    p.exp_string("Interrupted: the build was stopped; no variables were lost.")
        .expect("the build stops, in one sentence");
    let rest = p.exp_string(">> ").expect("the prompt after it");
    assert!(
        !rest.contains("Compilation failed") && !rest.contains("\"reason\""),
        "nothing of cargo: {rest}"
    );

    p.send_control('d').unwrap();
    match p.process().wait().unwrap() {
        rexpect::process::WaitStatus::Exited(_, code) => assert_eq!(code, 0),
        other => panic!("REPL ended with {other:?}"),
    }
}
