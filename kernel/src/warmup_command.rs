//! `ferrolab warmup`, and the REPL's first start on a machine: the library's build for cells
//! drawn as a progress bar from the engine's reports (`engine::warmup`).

use crate::engine::evcxr_engine::EvcxrEngine;
use crate::engine::warmup::{self, BuildProgress};
use crate::engine::Engine;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Instant;

/// Builds the library into the persistent build dir ahead of time, so the first notebook cell
/// does not wait for it, then checks a cell runs.
pub fn run(quiet: bool) -> Result<()> {
    let started = Instant::now();
    let engine = EvcxrEngine::launch()?;
    if !quiet {
        println!(
            "Building the ferrolab library for notebook cells (once per machine and version)\n  library:   {}\n  build dir: {}",
            engine.library().display(),
            engine.build_dir().display()
        );
    }
    wait_ready(&engine, quiet)?;
    let cell = warmup::check(&engine)?;
    if !quiet {
        println!(
            "Ready in {:.1} s; a cell (`1+1`) takes {cell:.2} s.",
            started.elapsed().as_secs_f64()
        );
    }
    engine.shutdown(false);
    Ok(())
}

/// Waits until `engine` is ready, with a bar of the library build (hidden when `quiet`).
pub fn wait_ready(engine: &EvcxrEngine, quiet: bool) -> Result<()> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(1)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} units {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let ready = warmup::wait_ready(engine, &mut |BuildProgress { built, total }| {
        bar.set_length(total.max(built).max(1));
        bar.set_position(built);
    });
    match &ready {
        Ok(()) => bar.finish_with_message("built"),
        Err(_) => bar.abandon_with_message("failed"),
    }
    ready
}
