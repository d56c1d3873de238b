//! A long session in one kernel: cells of values, library calls and a small `fit` every
//! 50th, with the kernel's and runtime's memory (RSS) and the time of a cell measured at
//! cell 50, halfway and at the end. Memory may not grow without bound: at the end it stays
//! within twice that at 50 plus 300 MiB (a leak of a few MiB a cell exceeds it). Times are
//! printed, not asserted (the machine is shared).
//!
//! Each Rust cell compiles (about 0.3-0.6 s), so the test runs 200 cells by default (under
//! 3 minutes warm) to keep CI within its budget; `FERROLAB_LONG_SESSION_CELLS=500 cargo test
//! -p ferrolab-kernel --test long_session -- --nocapture` is the 500-cell session.

mod common;

use common::{result_text, Kernel};
use std::time::{Duration, Instant};

/// How many cells: `FERROLAB_LONG_SESSION_CELLS`, at least 100, else 200.
fn cells() -> usize {
    std::env::var("FERROLAB_LONG_SESSION_CELLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .map_or(200, |n: usize| n.max(100))
}
const BUILD_TIMEOUT: Duration = Duration::from_secs(900);
const CELL_TIMEOUT: Duration = Duration::from_secs(180);

/// RSS in MiB of the kernel and every process under it.
fn rss_mib(kernel: &Kernel) -> f64 {
    let pids = std::iter::once(kernel.child.id() as i32).chain(kernel.descendants());
    let kib: u64 = pids
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .sum();
    kib as f64 / 1024.0
}

/// Cell number `i` (1-based) and the value it must show; `x` is the session's `x`.
fn cell(i: usize, x: &mut u64) -> (String, String) {
    if i.is_multiple_of(50) {
        let code = "let history = fit(&mut mlp, &data, &FitConfig::default().epochs(1).batch_size(64)).unwrap();\nhistory.epochs()";
        (code.into(), "1".into())
    } else if i.is_multiple_of(5) {
        (
            format!("Dense::<f32, Cpu>::new(&dev, {i}, 3).weight.shape().1 + {i}"),
            format!("{}", 2 * i),
        )
    } else if i.is_multiple_of(2) {
        *x = i as u64;
        (format!("let x = {i}u64;\nx * 3"), format!("{}", 3 * i))
    } else {
        (format!("x + {i}"), format!("{}", *x + i as u64))
    }
}

#[test]
fn hundreds_of_cells_in_one_kernel() {
    let total = cells();
    let kernel = Kernel::start_real();
    let setup = "let dev = Cpu::seed_from_u64(0);\nlet data = ferrolab::data::digits();\nlet mut mlp = Mlp::<f32, Cpu>::new(&dev, 64, 16, 10);\nlet x = 0u64;";
    let (reply, _) = kernel.execute_within(setup, BUILD_TIMEOUT);
    assert_eq!(reply.content["status"], "ok", "{:?}", reply.content);
    let mut times = Vec::new();
    let mut figures = Vec::new();
    let mut x = 0;
    for i in 1..=total {
        let (code, expected) = cell(i, &mut x);
        let started = Instant::now();
        let (reply, iopub) = kernel.execute_within(&code, CELL_TIMEOUT);
        times.push(started.elapsed().as_secs_f64());
        assert_eq!(
            reply.content["status"], "ok",
            "cell {i}: {code}\n{:?}",
            reply.content
        );
        assert_eq!(
            result_text(&iopub).as_deref(),
            Some(expected.as_str()),
            "cell {i}: {code}"
        );
        if [50, total / 2, total].contains(&i) {
            // The median of the last 20 plain cells (the fit every 50th is slower by design).
            let mut recent: Vec<f64> = (i - 20..i)
                .filter(|n| (n + 1) % 50 != 0)
                .map(|n| times[n])
                .collect();
            recent.sort_by(f64::total_cmp);
            let median = recent[recent.len() / 2];
            let rss = rss_mib(&kernel);
            eprintln!(
                "cell {i}: RSS {rss:.0} MiB (kernel and runtime), median cell {:.0} ms",
                median * 1000.0
            );
            figures.push((rss, median));
        }
    }
    let (first, last) = (figures[0], figures[2]);
    assert!(
        last.0 <= first.0 * 2.0 + 300.0,
        "memory grew from {:.0} MiB at cell 50 to {:.0} MiB at cell {total}",
        first.0,
        last.0
    );
}
