//! The shared evcxr build cache under faults: two kernels started at the same moment, a
//! build dir removed while its kernel runs, a slot left half-written by a killed kernel, a
//! cache dir that cannot be written.
//!
//! A first kernel on the user's cache provides a built slot; the test copies it into a
//! private cache dir (`FERROLAB_CACHE_DIR`) and works there, so the user's cache is never
//! touched. About 2-4 min with a warm cache: five library loads and copies of a slot
//! (≈600 MB each).

mod common;

use common::{result_text, Kernel};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BUILD_TIMEOUT: Duration = Duration::from_secs(900);
const LIBRARY_CELL: &str = "Cnn::<f32, Cpu>::new(&Cpu::default()).summary().total_params()";

/// The build dir `:status` reports.
fn build_dir(kernel: &Kernel) -> PathBuf {
    let (_, iopub) = kernel.execute(":status");
    let text = result_text(&iopub).unwrap_or_default();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("build dir: "))
        .unwrap_or_else(|| panic!("{text}"));
    PathBuf::from(line)
}

/// Runs the library cell; its value and how long it took.
fn library_cell(kernel: &Kernel) -> (Option<String>, f64) {
    let started = Instant::now();
    let (reply, iopub) = kernel.execute_within(LIBRARY_CELL, BUILD_TIMEOUT);
    let value = result_text(&iopub);
    if value.is_none() {
        // What the cell said instead, for the failure message.
        eprintln!("library cell: {:?}", reply.content);
        for m in &iopub {
            eprintln!("  {}: {}", m.msg_type(), m.content);
        }
    }
    (value, started.elapsed().as_secs_f64())
}

fn copy_slot(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for part in ["Cargo.lock", "target"] {
        let status = Command::new("cp")
            .arg("-a")
            .arg(from.join(part))
            .arg(to)
            .status()
            .unwrap();
        assert!(status.success(), "cp {part}");
    }
    let _ = std::fs::remove_dir_all(to.join("target/debug/incremental"));
}

/// SIGTERM, then waits for a clean exit (a killed kernel would leave its build running).
fn stop(mut kernel: Kernel) {
    // SAFETY: kill(2) with plain integers.
    unsafe { libc::kill(kernel.child.id() as i32, libc::SIGTERM) };
    assert!(kernel
        .exit_status(Duration::from_secs(60))
        .is_some_and(|s| s.success()));
}

#[test]
fn the_build_cache_survives_concurrency_kills_and_bad_dirs() {
    // A built slot to start from.
    let first = Kernel::start_real();
    let (value, _) = library_cell(&first);
    assert_eq!(value.as_deref(), Some("34826"), "{}", first.stderr());
    let built = build_dir(&first);
    let cache = tempfile::tempdir().unwrap();
    let root = cache
        .path()
        .join("evcxr")
        .join(built.parent().unwrap().file_name().unwrap());
    copy_slot(&built, &root.join("slot-0"));
    stop(first);
    let cache_env = [("FERROLAB_CACHE_DIR", cache.path().to_str().unwrap())];

    // Two kernels at the same moment: one takes the built slot, the other a fresh one that
    // is seeded from it (was: built from scratch, 88 s). Both work.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Kernel::start_real_with(&cache_env));
        let b = s.spawn(|| Kernel::start_real_with(&cache_env));
        (a.join().unwrap(), b.join().unwrap())
    });
    // Each kernel's sockets stay on one thread: the kernels move into the cells' threads.
    let ((a, va), (b, vb)) = std::thread::scope(|s| {
        let a = s.spawn(move || {
            let v = library_cell(&a);
            (a, v)
        });
        let b = s.spawn(move || {
            let v = library_cell(&b);
            (b, v)
        });
        (a.join().unwrap(), b.join().unwrap())
    });
    eprintln!("two kernels at once: first cells {:.1} s and {:.1} s", va.1, vb.1);
    assert_eq!(va.0.as_deref(), Some("34826"), "{}", a.stderr());
    assert_eq!(vb.0.as_deref(), Some("34826"), "{}", b.stderr());
    let logs = format!("{}\n{}", a.stderr(), b.stderr());
    assert!(logs.contains("was seeded from the built slot"), "{logs}");
    assert_ne!(build_dir(&a), build_dir(&b));

    // A build dir removed while its kernel runs (a cleaned cache): written again before the
    // next cell and seeded from the other kernel's slot; the cell works and says so.
    std::fs::remove_dir_all(build_dir(&b)).unwrap();
    let (value, took) = library_cell(&b);
    eprintln!("after its build dir was removed: first cell {took:.1} s");
    assert_eq!(value.as_deref(), Some("34826"), "{}", b.stderr());
    assert!(
        b.stderr()
            .contains("was removed while the kernel ran; it was written again (the build slot"),
        "{}",
        b.stderr()
    );
    stop(a);
    stop(b);

    // A slot whose build a killed kernel left unfinished (the marker the engine writes
    // before loading the library, removed after): detected, discarded, seeded again.
    std::fs::write(root.join("slot-0/ferrolab-build-unfinished"), "12345").unwrap();
    let c = Kernel::start_real_with(&cache_env);
    let (value, took) = library_cell(&c);
    eprintln!("after a half-written slot: first cell {took:.1} s");
    assert_eq!(value.as_deref(), Some("34826"), "{}", c.stderr());
    assert!(c.stderr().contains("left half-written"), "{}", c.stderr());
    assert!(!root.join("slot-0/ferrolab-build-unfinished").exists());
    stop(c);

    // A cache dir that cannot be created (a file where a dir should be; the tests run as
    // root, so permissions would not stop them): a private dir instead, said in the log.
    let file = cache.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let bad = file.join("cache");
    let tmp = tempfile::tempdir().unwrap();
    let d = Kernel::start_real_with(&[
        ("FERROLAB_CACHE_DIR", bad.to_str().unwrap()),
        ("TMPDIR", tmp.path().to_str().unwrap()),
    ]);
    assert!(
        d.stderr().contains("the build cache cannot be used"),
        "{}",
        d.stderr()
    );
    assert!(build_dir(&d).starts_with(tmp.path()), "{:?}", build_dir(&d));
    let (reply, _) = d.request("kernel_info_request", serde_json::json!({}));
    assert_eq!(reply.content["status"], "ok");
    stop(d);
}
