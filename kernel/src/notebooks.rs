//! `ferrolab notebooks`: renders `tutorials/*.md` to `notebooks/*.ipynb`; `--check` only
//! compares, and fails naming every notebook that is missing, stale or left over.

use anyhow::{bail, Result};

use crate::course::{notebook, project_root, read_chapters};
use crate::engine::setup::write_if_changed;

pub fn run(check: bool) -> Result<()> {
    let root = project_root();
    let chapters = read_chapters(&root)?;
    let dir = root.join("notebooks");
    let mut stale = Vec::new();
    for chapter in &chapters {
        let path = dir.join(format!("{}.ipynb", chapter.slug));
        let want = notebook::render(chapter);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(want.as_str()) {
            continue;
        }
        if check {
            stale.push(format!(
                "{} is out of date with tutorials/{}.md",
                path.display(),
                chapter.slug
            ));
        } else {
            write_if_changed(&path, &want)?;
            println!("wrote {}", path.display());
        }
    }
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(slug) = name.strip_suffix(".ipynb") else {
            continue;
        };
        if !chapters.iter().any(|c| c.slug == slug) {
            if check {
                stale.push(format!("{} has no tutorials/{slug}.md", entry.path().display()));
            } else {
                std::fs::remove_file(entry.path())?;
                println!("removed {}", entry.path().display());
            }
        }
    }
    if !stale.is_empty() {
        bail!("{}\nrun `ferrolab notebooks` to render them", stale.join("\n"));
    }
    if check {
        println!("{} notebooks up to date", chapters.len());
    }
    Ok(())
}
