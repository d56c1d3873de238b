//! A long session in one kernel: cells of values, library calls and a small `fit` every
//! 50th, with the kernel's and runtime's memory (RSS) and the time of a cell measured at
//! cell 50, halfway and at the end. Times are printed, not asserted (the machine is shared).
//!
//! What grows, measured: each cell is a shared object (`libcode_N.so`) that evcxr's runtime
//! loads and never unloads, about 28 KiB of RSS a cell in four mappings, since a value kept
//! in a variable may point into the code of the cell that made it (a vtable, a closure, a
//! string literal); unloading one could leave such a pointer dangling. That is by design,
//! and it is counted apart. Everything else, kernel and runtime together, may grow by at
//! most 16 MiB plus 16 KiB a cell from cell 50 on: a leak of 100 KiB a cell exceeds it.
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

/// RSS in MiB of the cells' shared objects mapped in the kernel's processes.
fn cell_code_mib(kernel: &Kernel) -> f64 {
    let pids = std::iter::once(kernel.child.id() as i32).chain(kernel.descendants());
    let mut kib = 0;
    for smaps in pids.filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()) {
        let mut in_cell_code = false;
        for line in smaps.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields
                .first()
                .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
            {
                let file = fields.get(5).and_then(|p| p.rsplit('/').next()).unwrap_or("");
                in_cell_code = file.starts_with("libcode_") && file.ends_with(".so");
            } else if in_cell_code && fields.first() == Some(&"Rss:") {
                kib += fields.get(1).and_then(|k| k.parse::<u64>().ok()).unwrap_or(0);
            }
        }
    }
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
            let (rss, code) = (rss_mib(&kernel), cell_code_mib(&kernel));
            eprintln!(
                "cell {i}: RSS {rss:.1} MiB (kernel and runtime), of which {code:.1} MiB the cells' \
                 shared objects; median cell {:.0} ms",
                median * 1000.0
            );
            figures.push((rss, code));
        }
    }
    let ((rss_50, code_50), (rss_end, code_end)) = (figures[0], figures[2]);
    let cells_since = (total - 50) as f64;
    eprintln!(
        "from cell 50 to {total}: {:.1} KiB a cell in all, {:.1} KiB a cell of it the cells' code",
        (rss_end - rss_50) * 1024.0 / cells_since,
        (code_end - code_50) * 1024.0 / cells_since
    );
    assert!(
        code_end > code_50,
        "the cells' shared objects were not found in smaps"
    );
    let other_growth = (rss_end - code_end) - (rss_50 - code_50);
    let bound = 16.0 + cells_since * 16.0 / 1024.0;
    assert!(
        other_growth <= bound,
        "memory other than the cells' code grew {other_growth:.1} MiB from cell 50 to {total} (bound {bound:.1} MiB)"
    );
}
