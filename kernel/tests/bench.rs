//! `ferrolab bench` end to end: the real binary times one model and ends with the JSON line
//! that `benches/pytorch_bench.py` reads. Timings are not checked, only the contract.

use std::process::Command;

#[test]
fn bench_json_is_the_last_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrolab"))
        .args([
            "bench",
            "rnn",
            "--threads",
            "1",
            "--warmup",
            "0",
            "--steps",
            "1",
            "--json",
        ])
        .output()
        .expect("run ferrolab bench");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("1 thread(s), CPU kernels"), "{stdout}");
    let last = stdout.lines().last().unwrap();
    let json: serde_json::Value = serde_json::from_str(last).expect("JSON on the last line");
    assert!(json["rnn"].as_f64().unwrap() > 0.0, "{last}");
}

#[test]
fn bench_rejects_zero_threads() {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrolab"))
        .args(["bench", "rnn", "--threads", "0"])
        .output()
        .expect("run ferrolab bench");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threads"));
}
