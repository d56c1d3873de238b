//! `ferrolab warmup`: builds the library into the persistent evcxr build dir ahead
//! of time, with a progress bar, so the first notebook cell does not wait for it.
//!
//! It starts the same engine the kernel starts and waits until it is ready. The bar
//! counts cargo's units (fingerprint dirs) against the packages in the build's
//! Cargo.lock: an estimate (build scripts count as extra units), not cargo's own
//! progress, which evcxr does not expose.

use super::evcxr_engine::{EvcxrEngine, Status};
use super::setup::Prepared;
use super::{Engine, Event};
use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::time::{Duration, Instant};

/// Starts the engine, shows progress until it is ready, then runs `1+1` as a check.
pub fn run(prepared: Prepared, quiet: bool) -> Result<()> {
    let started = Instant::now();
    let slot = prepared.slot.dir.clone();
    if !quiet {
        println!(
            "Building the ferrolab library for notebook cells (once per machine and version)\n  library:   {}\n  build dir: {}",
            prepared.library.display(),
            slot.display()
        );
    }
    let engine = EvcxrEngine::start(prepared.library.clone(), slot.clone());
    wait_ready(&engine, &slot, quiet)?;
    let check = Instant::now();
    let mut result = None;
    engine.execute("1+1", &mut |event| match event {
        Event::Result(bundle) => result = bundle.get("text/plain").cloned(),
        Event::Error { evalue, .. } => result = Some(evalue.into()),
        _ => {}
    });
    let result = result.and_then(|v| v.as_str().map(str::to_string));
    if result.as_deref() != Some("2") {
        bail!("the engine started but `1+1` gave {result:?}");
    }
    if !quiet {
        println!(
            "Ready in {:.1} s; a cell (`1+1`) takes {:.2} s.",
            started.elapsed().as_secs_f64(),
            check.elapsed().as_secs_f64()
        );
    }
    engine.shutdown(false);
    Ok(())
}

/// Waits until `engine` is ready, with a progress bar of the library build in `slot`
/// (hidden when `quiet`). Used by `warmup` and by the REPL's first start on a machine.
pub fn wait_ready(engine: &EvcxrEngine, slot: &Path, quiet: bool) -> Result<()> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(1)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} units {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    loop {
        match engine.status() {
            Status::Ready => break,
            Status::Failed(e) => {
                bar.abandon_with_message("failed");
                bail!("{e}");
            }
            Status::Starting => {}
        }
        let (done, total) = progress(slot);
        bar.set_length(total.max(done).max(1));
        bar.set_position(done);
        std::thread::sleep(Duration::from_millis(200));
    }
    let (done, _) = progress(slot);
    bar.set_length(done.max(1));
    bar.finish_with_message("built");
    Ok(())
}

/// Whether the library looks built in `slot` (nine tenths of its units or more): a start
/// then takes seconds, not the minutes of a first build.
pub fn is_built(slot: &Path) -> bool {
    let (built, total) = progress(slot);
    built * 10 >= total * 9 && total > 0
}

/// (units built, packages to build) in a slot, both estimates.
fn progress(slot: &Path) -> (u64, u64) {
    let total = std::fs::read_to_string(slot.join("Cargo.lock"))
        .map(|lock| lock.matches("[[package]]").count() as u64)
        .unwrap_or(0);
    let mut done = 0;
    let target = slot.join("target");
    // Host units in target/debug, target units in target/<triple>/debug.
    let mut dirs = vec![target.join("debug").join(".fingerprint")];
    if let Ok(entries) = std::fs::read_dir(&target) {
        dirs.extend(
            entries
                .flatten()
                .map(|e| e.path().join("debug").join(".fingerprint")),
        );
    }
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        if let Ok(entries) = std::fs::read_dir(dir) {
            done += entries.count() as u64;
        }
    }
    (done, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_built_once_most_of_its_locked_packages_have_fingerprints() {
        let slot = tempfile::tempdir().unwrap();
        assert!(!is_built(slot.path()), "no Cargo.lock: nothing built");
        std::fs::write(slot.path().join("Cargo.lock"), "[[package]]\n".repeat(10)).unwrap();
        let fingerprints = slot.path().join("target/debug/.fingerprint");
        for n in 0..8 {
            std::fs::create_dir_all(fingerprints.join(format!("unit-{n}"))).unwrap();
        }
        assert_eq!(progress(slot.path()), (8, 10));
        assert!(!is_built(slot.path()));
        std::fs::create_dir_all(fingerprints.join("unit-8")).unwrap();
        assert!(is_built(slot.path()));
    }
}
