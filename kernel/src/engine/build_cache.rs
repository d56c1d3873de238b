//! Keeping the per-machine build cache sound and cheap when kernels meet it in a bad state:
//! a fresh slot beside a built one, a slot a killed kernel left half-written, a cache dir
//! that cannot be written.
//!
//! - **Seeding.** A second kernel beside a running one gets a fresh slot (see
//!   `setup::acquire_slot`), and building the library there from scratch took 88 s. Its
//!   cargo target dir is instead copied from a built sibling slot (seconds): cargo's
//!   fingerprints name crates and profiles, not the target dir, so nothing of the library
//!   or dfdx rebuilds. The copy goes to a temporary name and is renamed into place, so a
//!   kernel killed while copying leaves no half copy.
//! - **Two kernels and no build yet.** A kernel about to build the library in a slot
//!   without one takes the cache's build turn (an exclusive `flock` on
//!   `library-build.lock` beside the slots) and holds it until the library has loaded. A
//!   kernel starting meanwhile waits for the turn instead of compiling the same crates at
//!   the same moment (which made both take twice as long on two cores), then seeds its
//!   slot from the build just made.
//! - **Half-written slots.** A marker file is written before the library is built from
//!   scratch in a slot and removed once it has loaded. A slot that still has the marker
//!   when a kernel takes it was left by a kernel killed in the middle: its target dir is
//!   thrown away (and seeded again, or rebuilt), never trusted. A slot already built is not
//!   marked while its kernel loads the library, so it can seed the kernels starting beside
//!   it (marked, four kernels started at once found no seed and built from scratch).
//! - **An unwritable cache.** When the cache dir cannot be created or written (read-only,
//!   a file in its place), the kernel builds in a private dir under the system's temp dir
//!   and says so in its log; it never fails to start over it.
//!
//! Limits: seeding copies (about 500 MB a slot), it does not share; a sibling's target is
//! copied while its kernel may be compiling a cell, which at worst makes cargo rebuild that
//! cell's crate.

use anyhow::{Context, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The marker of a slot whose library build or load has not finished.
const UNFINISHED: &str = "ferrolab-build-unfinished";

/// Marks `slot` as being built: [`finished`] removes the mark once the library is loaded.
pub fn mark_unfinished(slot: &Path) {
    if let Err(e) = std::fs::write(slot.join(UNFINISHED), std::process::id().to_string()) {
        elog!("ferrolab: cannot mark the build slot {}: {e}", slot.display());
    }
}

/// The library loaded in `slot`: its build is whole.
pub fn finished(slot: &Path) {
    let _ = std::fs::remove_file(slot.join(UNFINISHED));
}

/// Makes the slot just taken usable: a half-written target dir is removed; a slot without
/// a built library is seeded from a built slot under one of `roots` when there is one.
/// Returns what it did, for the log (`None`: the slot was fine as it was).
pub fn repair_or_seed(roots: &[&Path], slot: &Path) -> Option<String> {
    let mut done = Vec::new();
    if slot.join(UNFINISHED).exists() {
        let _ = std::fs::remove_dir_all(slot.join("target"));
        finished(slot); // nothing half-written is left
        done.push(format!(
            "the build slot {} was left half-written by a kernel that stopped mid-build; its build was discarded",
            slot.display()
        ));
    }
    if !super::warmup::is_built(slot) {
        match roots.iter().find_map(|root| built_sibling(root, slot)) {
            Some(source) => match copy_target(&source, slot) {
                Ok(()) => done.push(format!(
                    "the build slot {} was seeded from the built slot {}",
                    slot.display(),
                    source.display()
                )),
                Err(e) => done.push(format!(
                    "seeding from {} failed ({e:#}); building",
                    source.display()
                )),
            },
            None => done.push("no built slot to seed from; the library builds now".into()),
        }
    }
    (!done.is_empty()).then(|| done.join("; "))
}

/// The right to build the library in this cache; held until the library has loaded.
pub struct BuildTurn(#[allow(dead_code)] File);

/// How long a kernel waits for another's build before building itself: longer than a cold
/// build of the library on two cores.
const TURN_WAIT: Duration = Duration::from_secs(20 * 60);

/// For a slot without a built library: takes the build turn of the cache it is in, first
/// waiting while another kernel holds it and then seeding the slot from that kernel's build.
/// `None` when the slot is built already (nothing to wait for) or the turn cannot be had;
/// the kernel then builds on its own, as it would without this.
pub fn take_build_turn(slot: &Path) -> Option<BuildTurn> {
    take_build_turn_within(slot, TURN_WAIT)
}

fn take_build_turn_within(slot: &Path, wait: Duration) -> Option<BuildTurn> {
    if super::warmup::is_built(slot) {
        return None;
    }
    let root = slot.parent()?;
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(root.join("library-build.lock"))
        .ok()?;
    if super::setup::try_lock(&lock) {
        return Some(BuildTurn(lock));
    }
    elog!("ferrolab: another kernel is building the library in this cache; waiting to reuse its build");
    let started = Instant::now();
    while !super::setup::try_lock(&lock) {
        if started.elapsed() > wait {
            elog!(
                "ferrolab: the other kernel's build took over {} s; building here too",
                wait.as_secs()
            );
            return None;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    if let Some(said) = repair_or_seed(&[root], slot) {
        elog!("ferrolab: {said}");
    }
    Some(BuildTurn(lock))
}

/// A slot under `root` other than `slot` whose library is built and whole.
fn built_sibling(root: &Path, slot: &Path) -> Option<PathBuf> {
    let mut slots: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.as_path() != slot)
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("slot-"))
        })
        .collect();
    slots.sort();
    slots
        .into_iter()
        .find(|p| !p.join(UNFINISHED).exists() && super::warmup::is_built(p))
}

/// Copies `source`'s cargo target dir (without incremental caches: they are the cells',
/// and large) into `slot`, under a temporary name first.
fn copy_target(source: &Path, slot: &Path) -> Result<()> {
    let aside = tempfile::Builder::new().prefix(".target-").tempdir_in(slot)?;
    copy_tree(&source.join("target"), aside.path())?;
    let target = slot.join("target");
    let _ = std::fs::remove_dir_all(&target);
    let aside = aside.keep();
    std::fs::rename(&aside, &target).with_context(|| format!("renaming {} into place", aside.display()))?;
    // The dependency versions the copied build was made with.
    let _ = std::fs::copy(source.join("Cargo.lock"), slot.join("Cargo.lock"));
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if entry.file_name() != "incremental" {
                copy_tree(&src, &dst)?;
            }
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else {
            // A file the sibling's cargo removes meanwhile (a cell's artifact) is not needed.
            match copy_file(&src, &dst) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("copying {}", src.display())),
            }
        }
    }
    Ok(())
}

/// Copies a file with its modification time: cargo decides freshness by comparing the
/// mtimes of outputs and fingerprints, so copies stamped "now" in copying order would make
/// it rebuild nearly everything.
fn copy_file(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::copy(src, dst)?;
    let modified = std::fs::metadata(src)?.modified()?;
    let file = std::fs::File::options().write(true).open(dst)?;
    file.set_times(std::fs::FileTimes::new().set_modified(modified))
}

/// Where builds go when the cache dir cannot be written: private to this user and machine.
pub fn private_fallback() -> PathBuf {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    std::env::temp_dir().join(format!("ferrolab-{uid}-cache"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slot that `warmup::is_built` takes as built: a Cargo.lock naming one package and
    /// its fingerprint dir.
    fn built_slot(root: &Path, name: &str) -> PathBuf {
        let slot = root.join(name);
        let fingerprint = slot.join("target/x86_64-unknown-linux-gnu/debug/.fingerprint/dep-1");
        std::fs::create_dir_all(&fingerprint).unwrap();
        std::fs::write(fingerprint.join("f"), "fp").unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        let file = std::fs::File::options()
            .write(true)
            .open(fingerprint.join("f"))
            .unwrap();
        file.set_times(std::fs::FileTimes::new().set_modified(old))
            .unwrap();
        std::fs::create_dir_all(slot.join("target/debug/incremental/cell")).unwrap();
        std::fs::write(slot.join("Cargo.lock"), "[[package]]\nname = \"dep\"\n").unwrap();
        assert!(
            super::super::warmup::is_built(&slot),
            "the fixture must count as built"
        );
        slot
    }

    #[test]
    fn a_fresh_slot_is_seeded_from_a_built_sibling() {
        let root = tempfile::tempdir().unwrap();
        built_slot(root.path(), "slot-0");
        let fresh = root.path().join("slot-1");
        std::fs::create_dir_all(&fresh).unwrap();
        let said = repair_or_seed(&[root.path()], &fresh).unwrap();
        assert!(said.contains("seeded from"), "{said}");
        assert!(super::super::warmup::is_built(&fresh));
        // Modification times travel with the files (cargo's freshness depends on them).
        let fingerprint = "target/x86_64-unknown-linux-gnu/debug/.fingerprint/dep-1/f";
        let mtime = |slot: &Path| {
            std::fs::metadata(slot.join(fingerprint))
                .unwrap()
                .modified()
                .unwrap()
        };
        assert_eq!(mtime(&fresh), mtime(&root.path().join("slot-0")));
        assert!(!fresh.join("target/debug/incremental").exists());
        // Built now: nothing more to do.
        assert_eq!(repair_or_seed(&[root.path()], &fresh), None);
    }

    #[test]
    fn a_half_written_slot_is_discarded_and_never_a_seed() {
        let root = tempfile::tempdir().unwrap();
        let half = built_slot(root.path(), "slot-0");
        mark_unfinished(&half);
        let fresh = root.path().join("slot-1");
        std::fs::create_dir_all(&fresh).unwrap();
        assert!(repair_or_seed(&[root.path()], &fresh)
            .unwrap()
            .contains("no built slot"));
        let said = repair_or_seed(&[root.path()], &half).unwrap();
        assert!(said.contains("half-written"), "{said}");
        assert!(!half.join("target").exists());
        finished(&half);
        assert!(!half.join(UNFINISHED).exists());
    }

    /// A kernel that finds another building waits for its turn, then copies that build;
    /// the first kernel to come builds at once.
    #[test]
    fn a_second_kernel_waits_for_the_first_build_and_reuses_it() {
        let root = tempfile::tempdir().unwrap();
        let (first, second) = (root.path().join("slot-0"), root.path().join("slot-1"));
        std::fs::create_dir_all(&first).unwrap();
        std::fs::create_dir_all(&second).unwrap();
        let turn = take_build_turn(&first).expect("nobody builds: the first takes the turn");
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn({
            let second = second.clone();
            move || {
                let turn = take_build_turn_within(&second, Duration::from_secs(60));
                tx.send(()).unwrap();
                turn
            }
        });
        // While the first builds, the second waits.
        assert!(rx.recv_timeout(Duration::from_millis(700)).is_err());
        built_slot(root.path(), "slot-0");
        drop(turn);
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the turn passes on");
        assert!(waiter.join().unwrap().is_some());
        assert!(
            super::super::warmup::is_built(&second),
            "seeded from the first build"
        );
        // A built slot needs no turn, even while another kernel holds it.
        let _held = take_build_turn(&root.path().join("slot-2"));
        assert!(take_build_turn(&first).is_none());
    }

    /// A kernel whose wait runs out builds on its own.
    #[test]
    fn a_wait_that_runs_out_lets_the_kernel_build() {
        let root = tempfile::tempdir().unwrap();
        let slot = root.path().join("slot-1");
        std::fs::create_dir_all(&slot).unwrap();
        let _held = take_build_turn(&root.path().join("slot-0")).unwrap();
        assert!(take_build_turn_within(&slot, Duration::from_millis(300)).is_none());
    }
}
