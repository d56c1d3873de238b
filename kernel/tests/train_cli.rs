//! `ferrolab train` from the command line: it trains, writes the checkpoint it was asked
//! for, and ends with `test_accuracy=0.xxxx`; a pair that cannot work is a clear error.

use std::process::{Command, Output};

fn train(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrolab"))
        .arg("train")
        .args(args)
        .output()
        .expect("run ferrolab train")
}

/// The accuracy on the last line, which must read exactly `test_accuracy=0.xxxx`.
fn final_accuracy(out: &Output) -> f64 {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "train failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    let value = last
        .strip_prefix("test_accuracy=")
        .unwrap_or_else(|| panic!("last line is {last:?}"));
    assert!(
        value.len() == 6 && value.starts_with("0.") || value == "1.0000",
        "format: {last:?}"
    );
    value.parse().unwrap()
}

#[test]
fn the_book_cnn_trains_on_digits() {
    let acc = final_accuracy(&train(&[
        "cnn", "--data", "digits", "--epochs", "2", "--seed", "3",
    ]));
    assert!(acc > 0.8, "two epochs of the CNN on digits reached only {acc}");
}

#[test]
fn an_mlp_trains_on_a_csv_file_and_keeps_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("blobs.csv");
    let mut text = String::from("x,y,kind\n");
    for i in 0..300 {
        let class = i % 3;
        let (cx, cy) = [(0.0, 0.0), (4.0, 0.0), (0.0, 4.0)][class];
        let jitter = |k: usize| ((i * 37 + k * 11) % 17) as f64 / 17.0 - 0.5;
        text += &format!(
            "{},{},{}\n",
            cx + jitter(1),
            cy + jitter(2),
            ["a", "b", "c"][class]
        );
    }
    std::fs::write(&csv, text).unwrap();
    let ckpt = dir.path().join("best.safetensors");
    let out = train(&[
        "mlp",
        "--data",
        csv.to_str().unwrap(),
        "--epochs",
        "30",
        "--learning-rate",
        "0.01",
        "--checkpoint",
        ckpt.to_str().unwrap(),
    ]);
    assert!(final_accuracy(&out) > 0.95);
    assert!(ckpt.exists(), "the checkpoint was written");
    let sidecar = std::fs::read_to_string(dir.path().join("best.safetensors.json")).unwrap();
    assert!(sidecar.contains("\"mlp\""), "sidecar names the model: {sidecar}");
}

#[test]
fn a_pair_that_cannot_work_says_which_do() {
    let out = train(&["cnn", "--data", "sentiment"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cnn") && err.contains("digits"), "{err}");
}
