//! Sentence embeddings per second of all-MiniLM-L6-v2 (sequence 128), for the benchmark beside
//! PyTorch (benches/bert_embed_torch.py). Run by hand:
//! `cargo test --release --test pretrained_speed -- --ignored --nocapture`
//! (`RAYON_NUM_THREADS=1` and `=2` for the thread counts).

use ferrolab::prelude::*;
use std::time::Instant;

#[test]
#[ignore = "a measurement, run by hand"]
fn minilm_sentences_per_second() {
    let Ok(dir) = ferrolab::models::pretrained::resolve_model_dir("sentence-transformers/all-MiniLM-L6-v2")
    else {
        eprintln!("SKIPPED: all-MiniLM-L6-v2 is not installed (run tests/fixtures/install_minilm.sh)");
        return;
    };
    let mut model = BertModel::from_pretrained(dir.to_str().unwrap()).unwrap();
    model.max_len = 128;
    // Texts long enough to fill 128 tokens, as the PyTorch side pads/cuts to 128.
    let text = "The quick brown fox jumps over the lazy dog near the river bank. ".repeat(20);
    // FERROLAB_BATCHES=1 measures batch 1 only (for a profiler).
    let batches: Vec<usize> = std::env::var("FERROLAB_BATCHES")
        .map(|v| v.split(',').filter_map(|b| b.trim().parse().ok()).collect())
        .unwrap_or_else(|_| vec![1, 32]);
    for batch in batches {
        let texts = vec![text.as_str(); batch];
        let enc = model.tokenizer.encode_batch(&texts, 128);
        assert_eq!(enc.steps, 128);
        model.sentence_embeddings(&enc).unwrap(); // warm-up
        let runs = if batch == 1 { 40 } else { 4 };
        let (start, cpu) = (Instant::now(), cpu_seconds());
        for _ in 0..runs {
            model.sentence_embeddings(&enc).unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu;
        let n = (runs * batch) as f64;
        println!(
            "ferrolab batch {batch}: {:.1} sentences/s, {:.1} per CPU second",
            n / secs,
            n / cpu
        );
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM")) {
        let kb: f64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        println!("ferrolab peak memory: {:.0} MB", kb / 1024.0);
    }
}

/// This process's CPU time (user + system, all threads) from `/proc/self/stat`, in seconds:
/// on a shared machine, sentences per CPU second at one thread is the steadier figure.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces) closed by ')'.
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}
