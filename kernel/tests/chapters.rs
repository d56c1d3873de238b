//! The chapters end to end: `notebooks/` matches `tutorials/` (`ferrolab notebooks --check`),
//! and every notebook executes through the real kernel with nbclient, each exercise's check
//! seen to say Not attempted, Incorrect and Correct (`chapters/run_notebooks.py`).

mod python;

use std::path::Path;
use std::process::Command;

/// One chapter per section of the book, and its conclusion (ch07, serving).
const BOOK: [&str; 12] = [
    "ch01", "ch02", "ch03-1", "ch03-2", "ch03-3", "ch03-4", "ch04-1", "ch04-2", "ch04-3", "ch05", "ch06",
    "ch07",
];

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn notebooks_check(dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ferrolab"))
        .args(["notebooks", "--check"])
        .current_dir(dir)
        .output()
        .expect("run ferrolab notebooks --check")
}

#[test]
fn the_notebooks_are_rendered_from_the_tutorials() {
    let out = notebooks_check(root());
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for slug in BOOK {
        assert!(
            root().join(format!("notebooks/{slug}.ipynb")).exists(),
            "{slug} is missing"
        );
    }
}

#[test]
fn a_stale_or_missing_notebook_fails_the_check() {
    let tmp = tempfile::tempdir().unwrap();
    for dir in ["tutorials", "notebooks"] {
        std::fs::create_dir_all(tmp.path().join(dir)).unwrap();
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), tmp.path().join(dir).join(entry.file_name())).unwrap();
        }
    }
    let chapter = tmp.path().join("tutorials/ch01.md");
    let text = std::fs::read_to_string(&chapter).unwrap();
    std::fs::write(&chapter, text.replacen("\n\n", "\n\nA new sentence.\n\n", 1)).unwrap();
    std::fs::remove_file(tmp.path().join("notebooks/ch02.ipynb")).unwrap();
    let out = notebooks_check(tmp.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("ch01.ipynb is out of date with tutorials/ch01.md"),
        "{err}"
    );
    assert!(err.contains("ch02.ipynb"), "{err}");

    // Rendering brings them back, and the check passes again.
    let render = Command::new(env!("CARGO_BIN_EXE_ferrolab"))
        .arg("notebooks")
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(render.status.success());
    assert!(notebooks_check(tmp.path()).status.success());
}

/// Every chapter through the kernel: minutes (about a minute a chapter on 2 cores).
#[test]
fn every_notebook_executes_with_its_plots_and_checks() {
    let python = python::venv_python();
    let spec = python::kernelspec("ferrolab-chapters", "evcxr");
    let mut notebooks: Vec<_> = std::fs::read_dir(root().join("notebooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ipynb"))
        .collect();
    notebooks.sort();
    assert!(notebooks.len() >= BOOK.len(), "{notebooks:?}");
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("executed-notebooks");
    let status = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/chapters/run_notebooks.py"))
        .arg("ferrolab-chapters")
        .arg(&artifacts)
        .args(&notebooks)
        .env("JUPYTER_PATH", spec.path())
        .env("FERROLAB_HISTORY_FILE", spec.path().join("history.jsonl"))
        .current_dir(root())
        .status()
        .expect("run python");
    assert!(
        status.success(),
        "see the problems above; executed notebooks in {}",
        artifacts.display()
    );
}
