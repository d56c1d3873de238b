//! Where the Rust engine finds the library and keeps its build: the library's source
//! path, the persistent per-machine build dir, and the environment evcxr runs under.
//!
//! The build dir lives under the user cache dir, keyed by library version and source
//! path, so the library (with dfdx) compiles once per machine. Two kernels must not
//! share one evcxr crate dir (each rewrites its sources), so the dir is split into
//! slots guarded by an exclusive `flock`: the first kernel gets slot 0 (the one
//! `ferrolab warmup` builds), a concurrent one slot 1, and so on. This module does
//! not start evcxr; it only prepares paths and the environment.

use anyhow::{bail, Context, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Cargo profile overrides for the cell crate and its dependencies. evcxr writes
/// `[profile.dev] debug-assertions = true, overflow-checks = true` into the cell
/// crate's Cargo.toml; cargo's environment overrides win over that file. Measured
/// dfdx training steps ran about 3x faster without them (and at opt-level 3, which
/// the worker sets through evcxr's own setting so that `:opt` keeps working).
pub const PROFILE_ENV: &[(&str, &str)] = &[
    ("CARGO_PROFILE_DEV_DEBUG_ASSERTIONS", "false"),
    ("CARGO_PROFILE_DEV_OVERFLOW_CHECKS", "false"),
];

/// The optimisation level cells and the library build at (evcxr's default is 2).
pub const OPT_LEVEL: &str = "3";

/// The library's version: the workspace shares one version, so the kernel's is the library's.
pub const LIBRARY_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The directory holding the `ferrolab` library's Cargo.toml.
///
/// Looked up in order: `FERROLAB_LIBRARY_PATH`; the directories above the running
/// binary (a `cargo run` or `cargo build` from a clone puts it in `target/…`); the
/// workspace this binary was built from.
pub fn library_path() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("FERROLAB_LIBRARY_PATH") {
        let path = PathBuf::from(path);
        if is_library_dir(&path) {
            return Ok(path.canonicalize()?);
        }
        bail!(
            "FERROLAB_LIBRARY_PATH={} holds no Cargo.toml of package `ferrolab`",
            path.display()
        );
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(found) = exe.ancestors().skip(1).find(|d| is_library_dir(d)) {
            return Ok(found.canonicalize()?);
        }
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if is_library_dir(&built_from) {
        return Ok(built_from.canonicalize()?);
    }
    bail!("cannot find the ferrolab library sources; set FERROLAB_LIBRARY_PATH to the clone's root")
}

fn is_library_dir(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .map(|toml| toml.contains("name = \"ferrolab\""))
        .unwrap_or(false)
}

/// The root of all build slots for this library version and source path.
pub fn build_root(library: &Path) -> Result<PathBuf> {
    Ok(build_root_in(&cache_base()?, library))
}

/// The root of the build slots under the cache dir `base`.
fn build_root_in(base: &Path, library: &Path) -> PathBuf {
    // The path hash keeps two clones (possibly with different library edits) apart.
    base.join("evcxr")
        .join(format!("{LIBRARY_VERSION}-{:016x}", fnv1a(library)))
}

/// `FERROLAB_CACHE_DIR`, or `ferrolab` under the user's cache dir.
fn cache_base() -> Result<PathBuf> {
    Ok(match std::env::var_os("FERROLAB_CACHE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => dirs::cache_dir()
            .context("no user cache dir; set FERROLAB_CACHE_DIR")?
            .join("ferrolab"),
    })
}

/// Where rust-analyzer reads the standard library's sources from (`RUST_SRC_PATH`): a
/// symlink to a directory of links into the toolchain's `library/`, written by
/// [`write_std_sources`].
///
/// Why: rust-analyzer (inside evcxr) loads the toolchain's `library/Cargo.toml` as a cargo
/// workspace, which brings std's own dependencies (libc, hashbrown, cc, rand, …) into the
/// crate graph it analyses before every first cell. Without that manifest it takes the
/// standard crates alone (core, alloc, std, …), which is all a learner's `let` types need:
/// 0.8 s less from launch to the first library cell (9.2 vs 10.1 s, three runs each).
fn std_sources() -> Result<PathBuf> {
    Ok(cache_base()?.join("rust-src").join("library"))
}

/// Writes the standard library's sources where `RUST_SRC_PATH` points, when that is ours
/// (a user's own is left alone) and the toolchain has its `rust-src` component. The sysroot
/// is four levels above `target_libdir` (`<sysroot>/lib/rustlib/<target>/lib`). Failures
/// only cost start-up time, so they are logged, not returned.
pub fn write_std_sources(target_libdir: &Path) {
    let Ok(ours) = std_sources() else { return };
    if std::env::var_os("RUST_SRC_PATH").as_deref() != Some(ours.as_os_str()) {
        return;
    }
    let Some(sysroot) = target_libdir.ancestors().nth(4) else {
        return;
    };
    let library = sysroot.join("lib/rustlib/src/rust/library");
    if !library.join("core").exists() {
        return; // no rust-src: rust-analyzer goes without the standard library either way
    }
    if let Err(e) = link_std_sources(&library, &ours) {
        elog!("ferrolab: rust-analyzer keeps the standard library's cargo workspace: {e:#}");
    }
}

/// Points `link` (see [`std_sources`]) at links to everything in the toolchain's `library`
/// dir except its cargo workspace files. Safe against a concurrent kernel doing the same:
/// the directory of links is built aside and renamed into place, and `link` is replaced by
/// a rename.
fn link_std_sources(library: &Path, link: &Path) -> Result<()> {
    let parent = link.parent().context("the link has a parent dir")?;
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let farm = parent.join(format!("{:016x}", fnv1a(library)));
    if !farm.join("core").exists() {
        let aside = tempfile::Builder::new().prefix(".links-").tempdir_in(parent)?;
        for entry in std::fs::read_dir(library).with_context(|| format!("reading {}", library.display()))? {
            let name = entry?.file_name();
            if name != "Cargo.toml" && name != "Cargo.lock" {
                std::os::unix::fs::symlink(library.join(&name), aside.path().join(&name))?;
            }
        }
        // If another kernel renamed its copy first, ours is dropped with `aside`.
        let _ = std::fs::rename(aside.path(), &farm);
    }
    if std::fs::read_link(link).ok().as_deref() != Some(farm.as_path()) {
        let fresh = parent.join(format!(".library-{}", std::process::id()));
        let _ = std::fs::remove_file(&fresh);
        std::os::unix::fs::symlink(&farm, &fresh)?;
        std::fs::rename(&fresh, link).with_context(|| format!("replacing {}", link.display()))?;
    }
    Ok(())
}

fn fnv1a(path: &Path) -> u64 {
    path.as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
}

/// A build slot held for this process's lifetime (the lock goes with the file).
pub struct Slot {
    pub dir: PathBuf,
    _lock: File,
}

/// Takes the lowest free slot under `root`, creating it if needed.
pub fn acquire_slot(root: &Path) -> Result<Slot> {
    std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    for n in 0..64 {
        let lock_path = root.join(format!("slot-{n}.lock"));
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        if try_lock(&lock) {
            let dir = root.join(format!("slot-{n}"));
            std::fs::create_dir_all(&dir)?;
            return Ok(Slot { dir, _lock: lock });
        }
    }
    bail!("all 64 build slots under {} are in use", root.display())
}

/// An exclusive `flock` on `file`, without waiting; false when another holds it.
pub(super) fn try_lock(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own; no memory is passed.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Seeds a new slot with the workspace's Cargo.lock so the cell crate resolves the
/// library's dependencies to the versions the workspace was tested with, not to
/// whatever a fresh resolve would pick today.
pub fn seed_lockfile(slot: &Path, library: &Path) {
    let target = slot.join("Cargo.lock");
    if !target.exists() {
        let _ = std::fs::copy(library.join("Cargo.lock"), target);
    }
}

/// Writes the crate that cells see as `ferrolab`: a `dylib` re-exporting the library.
///
/// evcxr links every dependency statically into each cell's shared object, so each cell
/// would carry its own copy of the library's and dfdx's statics, and dfdx's tensor id
/// counter would restart in every cell: a model built in one cell and trained in the next
/// would have its parameters' ids reused by new tensors, and gradients would be mixed up.
/// Behind one `dylib` (cells link it dynamically: evcxr passes `-C prefer-dynamic`) there
/// is exactly one copy for the whole session. Returns the crate's directory.
pub fn write_cells_crate(slot: &Path, library: &Path) -> Result<PathBuf> {
    let dir = slot.join("ferrolab-cells");
    let manifest = format!(
        "# Written by the ferrolab engine; see kernel/src/engine/setup.rs.\n\
         [package]\nname = \"ferrolab-cells\"\nversion = \"{LIBRARY_VERSION}\"\nedition = \"2021\"\npublish = false\n\n\
         [lib]\ncrate-type = [\"dylib\"]\npath = \"lib.rs\"\n\n\
         [dependencies]\nferrolab = {{ path = {:?} }}\n",
        library.to_str().context("the library path is not UTF-8")?
    );
    let source = "//! The ferrolab library as one shared object for notebook cells.\npub use ferrolab::*;\n";
    write_if_changed(&dir.join("Cargo.toml"), &manifest)?;
    write_if_changed(&dir.join("lib.rs"), source)?;
    Ok(dir)
}

/// Writes the slot's own files again when its dir was removed while the kernel ran (a
/// cleaned cache): the cells' crate, the lock file and the cell profile, and seeds its
/// build from a sibling slot where one is built (else the next cell rebuilds the library).
/// What was done, to tell the learner; `None` when the slot is whole.
pub fn restore_removed_slot(slot: &Path, library: &Path) -> Option<String> {
    if slot.join("ferrolab-cells").join("Cargo.toml").exists() {
        return None;
    }
    let removed = format!(
        "the build dir {} was removed while the kernel ran",
        slot.display()
    );
    let rewritten = write_cells_crate(slot, library).and_then(|_| {
        // rust-analyzer inside evcxr writes `src/lib.rs` into a dir it made only at start.
        std::fs::create_dir_all(slot.join("src"))?;
        seed_lockfile(slot, library);
        slot.parent()
            .context("a slot has a parent")
            .and_then(write_cell_profile)
    });
    if let Err(e) = rewritten {
        return Some(format!("{removed}, and it cannot be written again: {e:#}"));
    }
    let root = slot.parent()?;
    let build = super::build_cache::repair_or_seed(&[root], slot).unwrap_or_default();
    Some(format!("{removed}; it was written again ({build})"))
}

/// Writes `text` atomically, and only when it differs (an unchanged mtime keeps cargo's
/// fingerprints, so nothing rebuilds).
pub(crate) fn write_if_changed(path: &Path, text: &str) -> Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    let dir = path.parent().context("a file path has a parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    file.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The profile of evcxr's cell crate (`ctx`) beside its own `[profile.dev]`, which says
/// `debug = false` and strips: line tables let a panic raised inside the library be traced
/// back to the cell line that called it (see `panic_report.rs`). Cargo reads the config of
/// every directory above the one it runs in, so the file sits in the slots' root (evcxr
/// rewrites the slot's own `.cargo/config.toml`); only the cell crate's profile changes,
/// so the library's build is reused.
pub const CELL_PROFILE: &str = "# Written by the ferrolab engine; see kernel/src/engine/setup.rs.\n\
     [profile.dev.package.ctx]\ndebug = \"line-tables-only\"\nstrip = \"none\"\n";

fn write_cell_profile(root: &Path) -> Result<()> {
    write_if_changed(&root.join(".cargo").join("config.toml"), CELL_PROFILE)
}

/// The build slot this process took, as [`set_process_env`] told evcxr (`EVCXR_TMPDIR`).
pub fn build_slot() -> Option<PathBuf> {
    std::env::var_os("EVCXR_TMPDIR").map(PathBuf::from)
}

/// Sets the process environment evcxr reads: its build dir and the profile
/// overrides. Must run before any other thread starts (environment writes are not
/// thread-safe), i.e. first thing after `runtime_hook` in `main`.
pub fn set_process_env(slot: &Path) {
    std::env::set_var("EVCXR_TMPDIR", slot);
    for (key, value) in PROFILE_ENV {
        std::env::set_var(key, value);
    }
    // The link may not exist yet: the worker writes it before evcxr starts, and
    // rust-analyzer ignores a RUST_SRC_PATH without `core` in it.
    if std::env::var_os("RUST_SRC_PATH").is_none() {
        if let Ok(link) = std_sources() {
            std::env::set_var("RUST_SRC_PATH", link);
        }
    }
}

/// Everything a Rust engine needs before it starts evcxr.
pub struct Prepared {
    pub library: PathBuf,
    pub slot: Slot,
}

/// Finds the library, takes a slot and sets the environment; `main` calls this
/// before spawning threads.
pub fn prepare() -> Result<Prepared> {
    let library = library_path()?;
    let slot = take_slot(&library)?;
    seed_lockfile(&slot.dir, &library);
    // Without it panics lose their cell line, nothing else: worth a note, not a failed start.
    if let Err(e) = slot
        .dir
        .parent()
        .context("a slot has a parent")
        .and_then(write_cell_profile)
    {
        elog!("ferrolab: cells build without line tables: {e:#}");
    }
    set_process_env(&slot.dir);
    Ok(Prepared { library, slot })
}

/// A build slot for `library`: in the cache dir, or in a private dir when the cache dir
/// cannot be written (a clear note in the log, never a failed start); repaired if a killed
/// kernel left it half-written, and seeded from a built slot when it has no build (see
/// `build_cache`).
fn take_slot(library: &Path) -> Result<Slot> {
    let shared = build_root(library);
    let taken = shared
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .and_then(|root| acquire_slot(root).map(|slot| (root.clone(), slot)));
    let (root, slot) = match taken {
        Ok(taken) => taken,
        Err(e) => {
            let root = build_root_in(&super::build_cache::private_fallback(), library);
            elog!(
                "ferrolab: the build cache cannot be used ({e:#}); building in {} instead",
                root.display()
            );
            let slot = acquire_slot(&root).context("the private build dir cannot be used either")?;
            (root, slot)
        }
    };
    // A private slot may still be seeded from the shared cache when that is readable.
    let roots: Vec<&Path> = std::iter::once(root.as_path())
        .chain(shared.as_deref().ok().filter(|s| *s != root))
        .collect();
    if let Some(said) = super::build_cache::repair_or_seed(&roots, &slot.dir) {
        elog!("ferrolab: {said}");
    }
    Ok(slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_exclude_each_other() {
        let root = tempfile::tempdir().unwrap();
        let a = acquire_slot(root.path()).unwrap();
        let b = acquire_slot(root.path()).unwrap();
        assert_ne!(a.dir, b.dir);
        let a_dir = a.dir.clone();
        drop(a);
        assert_eq!(acquire_slot(root.path()).unwrap().dir, a_dir);
    }

    #[test]
    fn std_sources_link_everything_but_the_cargo_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let make_library = |name: &str| {
            let library = dir.path().join(name);
            for sub in ["core", "std", "alloc"] {
                std::fs::create_dir_all(library.join(sub).join("src")).unwrap();
            }
            std::fs::write(library.join("Cargo.toml"), "[workspace]").unwrap();
            std::fs::write(library.join("Cargo.lock"), "").unwrap();
            library
        };
        let (old, new) = (make_library("old-toolchain"), make_library("new-toolchain"));
        let link = dir.path().join("cache").join("rust-src").join("library");
        link_std_sources(&old, &link).unwrap();
        assert!(link.join("core").join("src").is_dir());
        assert!(link.join("std").join("src").is_dir());
        assert!(
            !link.join("Cargo.toml").exists(),
            "the workspace manifest must stay out"
        );
        assert!(!link.join("Cargo.lock").exists());
        // Idempotent, and a toolchain change re-points the link.
        link_std_sources(&old, &link).unwrap();
        link_std_sources(&new, &link).unwrap();
        let core = std::fs::canonicalize(link.join("core")).unwrap();
        assert_eq!(core, std::fs::canonicalize(new.join("core")).unwrap());
    }

    #[test]
    fn finds_the_workspace_library() {
        let path = library_path().unwrap();
        assert!(path.join("src").join("prelude.rs").exists(), "{path:?}");
    }
}
