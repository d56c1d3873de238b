//! A learner's place in the course, kept per user and written atomically.
//!
//! `course.json` in the user data dir (`$FERROLAB_COURSE_PROGRESS` overrides the path): the
//! open chapter, and per chapter the step reached and the exercises solved. A file that no
//! longer parses is kept aside as `course.json.bad` and the course starts fresh, saying so;
//! progress is never silently overwritten.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The chapter open when the learner last left.
    pub current: Option<String>,
    #[serde(default)]
    pub chapters: BTreeMap<String, ChapterProgress>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChapterProgress {
    /// Index of the step shown last (0-based).
    pub step: usize,
    #[serde(default)]
    pub solved: BTreeSet<String>,
}

/// Where progress lives: `$FERROLAB_COURSE_PROGRESS`, else `<data dir>/ferrolab/course.json`.
pub fn default_path() -> PathBuf {
    if let Some(path) = std::env::var_os("FERROLAB_COURSE_PROGRESS") {
        return PathBuf::from(path);
    }
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir)
        .join("ferrolab")
        .join("course.json")
}

impl Progress {
    /// Reads `path`; absent means a fresh start. The note says what happened to a damaged file.
    pub fn load(path: &Path) -> (Progress, Option<String>) {
        let Ok(text) = std::fs::read_to_string(path) else {
            return (Progress::default(), None);
        };
        match serde_json::from_str(&text) {
            Ok(progress) => (progress, None),
            Err(e) => {
                let aside = path.with_extension("json.bad");
                let kept = std::fs::rename(path, &aside).is_ok();
                let note = format!(
                    "course progress in {} could not be read ({e}); {}starting afresh",
                    path.display(),
                    if kept {
                        format!("kept it as {}, ", aside.display())
                    } else {
                        String::new()
                    }
                );
                (Progress::default(), Some(note))
            }
        }
    }

    /// Writes `path` atomically: a temporary file in the same folder, then a rename.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        file.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    pub fn chapter(&mut self, slug: &str) -> &mut ChapterProgress {
        self.chapters.entry(slug.to_string()).or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_round_trips_and_a_damaged_file_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/course.json");
        assert_eq!(Progress::load(&path).0, Progress::default());
        let mut p = Progress {
            current: Some("ch03-1".into()),
            ..Default::default()
        };
        p.chapter("ch03-1").step = 4;
        p.chapter("ch03-1").solved.insert("conv-shape".into());
        p.save(&path).unwrap();
        assert_eq!(Progress::load(&path), (p, None));
        std::fs::write(&path, "{ not json").unwrap();
        let (fresh, note) = Progress::load(&path);
        assert_eq!(fresh, Progress::default());
        assert!(note.unwrap().contains("course.json.bad"));
        assert_eq!(
            std::fs::read_to_string(path.with_extension("json.bad")).unwrap(),
            "{ not json"
        );
    }
}
