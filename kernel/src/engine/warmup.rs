//! Whether and how far the library is built for cells, and waiting for the engine: the data
//! behind `ferrolab warmup`'s progress bar and the REPL's first start, which draw it.
//!
//! Progress counts cargo's units (fingerprint dirs) against the packages in the build's
//! Cargo.lock: an estimate (build scripts count as extra units), not cargo's own progress,
//! which evcxr does not expose.

use super::evcxr_engine::{EvcxrEngine, Status};
use super::{Engine, Event};
use anyhow::{bail, Result};
use std::path::Path;
use std::time::{Duration, Instant};

/// How far the library's build for cells has come: about `built` of `total` units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildProgress {
    pub built: u64,
    pub total: u64,
}

/// Waits until `engine` is ready, reporting the build's progress about five times a second
/// and once more when it is done.
pub fn wait_ready(engine: &EvcxrEngine, report: &mut dyn FnMut(BuildProgress)) -> Result<()> {
    let slot = engine.build_dir();
    loop {
        match engine.status() {
            Status::Ready => break,
            Status::Failed(e) => bail!("{e}"),
            Status::Starting => {}
        }
        report(build_progress(slot));
        std::thread::sleep(Duration::from_millis(200));
    }
    let built = build_progress(slot).built;
    report(BuildProgress { built, total: built });
    Ok(())
}

/// Runs `1+1` on a ready engine, as a check: the seconds the cell took.
pub fn check(engine: &EvcxrEngine) -> Result<f64> {
    let started = Instant::now();
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
    Ok(started.elapsed().as_secs_f64())
}

/// Whether the library looks built in `slot` (nine tenths of its units or more): a start
/// then takes seconds, not the minutes of a first build.
pub fn is_built(slot: &Path) -> bool {
    let BuildProgress { built, total } = build_progress(slot);
    built * 10 >= total * 9 && total > 0
}

/// Units built and packages to build in a slot, both estimates.
fn build_progress(slot: &Path) -> BuildProgress {
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
    BuildProgress { built: done, total }
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
        assert_eq!(build_progress(slot.path()), BuildProgress { built: 8, total: 10 });
        assert!(!is_built(slot.path()));
        std::fs::create_dir_all(fingerprints.join("unit-8")).unwrap();
        assert!(is_built(slot.path()));
    }
}
