//! A checkpoint save killed with SIGKILL at random points leaves a checkpoint that loads
//! whole: the weights of one complete save, never a mix or a torn file.
//!
//! The writer is this test binary run again as a child (`checkpoint_writer_child`, which
//! does nothing unless `FERROLAB_CHECKPOINT_WRITER` names a file): it saves two models in
//! turn (seeds 1 and 2) to that file, over and over, until it is killed. After each kill
//! the file must load, with every tensor of one model: seed 0 (saved before), 1 or 2.
//! Forty kills at delays drawn from a fixed seed (0-150 ms, so most land mid-save); a few
//! seconds in all.

use ferrolab::prelude::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const WRITER_ENV: &str = "FERROLAB_CHECKPOINT_WRITER";
const KILLS: usize = 40;

/// Large enough (≈1.2 MB of weights) that a save takes a few milliseconds.
fn model(seed: u64) -> Mlp<f32, Cpu> {
    Mlp::new(&Cpu::seed_from_u64(seed), 256, 1024, 10)
}

/// Every parameter of `model`, in order.
fn parameters(model: &Mlp<f32, Cpu>) -> Vec<f32> {
    [&model.hidden_1, &model.hidden_2, &model.output]
        .iter()
        .flat_map(|dense| [dense.weight.as_vec(), dense.bias.as_vec()])
        .flatten()
        .collect()
}

#[test]
fn checkpoint_writer_child() {
    let Some(path) = std::env::var_os(WRITER_ENV) else {
        return; // Only a child run of the test below writes.
    };
    let models = [model(1), model(2)];
    for epoch in 1.. {
        save_checkpoint(&models[epoch % 2], Path::new(&path), epoch, None).unwrap();
    }
}

#[test]
fn a_killed_save_leaves_a_checkpoint_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    save_checkpoint(&model(0), &path, 0, None).unwrap();
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let saved: Vec<Vec<f32>> = (0..3).map(|seed| parameters(&model(seed))).collect();
    let mut newer_loads = 0;
    for kill in 0..KILLS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "checkpoint_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER_ENV, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        std::thread::sleep(Duration::from_millis(state % 150));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let mut loaded = model(u64::MAX);
        let meta = load_checkpoint(&mut loaded, &path)
            .unwrap_or_else(|e| panic!("kill {kill}: the checkpoint does not load: {e}"));
        // Every tensor from one whole save.
        let seed = saved.iter().position(|p| *p == parameters(&loaded));
        assert!(seed.is_some(), "kill {kill}: the weights are of no complete save");
        newer_loads += usize::from(seed != Some(0));
        // The sidecar is whole JSON (the previous save's when the kill fell between the
        // two renames).
        assert!(
            meta.is_some(),
            "kill {kill}: the sidecar is missing or unreadable"
        );
    }
    // Killed saves leave temporary files; the next save removes every one whose writer is
    // gone, and leaves only the checkpoint and its sidecar.
    let temporaries = || std::fs::read_dir(dir.path()).unwrap().count() - 2;
    let left_by_kills = temporaries();
    save_checkpoint(&model(0), &path, 0, None).unwrap();
    eprintln!(
        "checkpoint: {KILLS} kills, {newer_loads} loads of a newer save, {left_by_kills} temporary files left by them, {} after one more save",
        temporaries()
    );
    assert_eq!(temporaries(), 0, "a later save left orphaned temporary files");
    // The kills did land during saves, not only before the first one.
    assert!(newer_loads > 0, "no save completed in {KILLS} runs");
}
