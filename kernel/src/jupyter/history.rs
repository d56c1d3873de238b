//! Execution history for `history_request`: every stored cell, numbered by
//! session and line, kept in memory and appended to a JSON-lines file so it
//! survives across kernel sessions.
//!
//! The file is `$FERROLAB_HISTORY_FILE`, else `$XDG_DATA_HOME/ferrolab/history.jsonl`,
//! else `~/.local/share/ferrolab/history.jsonl`. Writes are best effort: a
//! read-only or missing data dir only loses persistence, never a cell. Several
//! kernels appending at once may interleave and reuse session numbers; there is no lock.
//! Only `text/plain` results are kept as output.

use super::messages::{HistAccess, HistoryRequest};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;

/// The environment variable that overrides the history file (tests use it).
pub const HISTORY_ENV: &str = "FERROLAB_HISTORY_FILE";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub session: u32,
    pub line: u32,
    pub input: String,
    #[serde(default)]
    pub output: Option<String>,
}

pub struct History {
    entries: Vec<Entry>,
    session: u32,
    path: Option<PathBuf>,
}

impl History {
    /// Loads the history file and starts a new session after the last one in it.
    pub fn open() -> Self {
        Self::open_at(default_path())
    }

    pub fn open_at(path: Option<PathBuf>) -> Self {
        let entries: Vec<Entry> = path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|text| {
                text.lines()
                    .filter_map(|l| serde_json::from_str(l).ok())
                    .collect()
            })
            .unwrap_or_default();
        let session = entries.iter().map(|e| e.session).max().unwrap_or(0) + 1;
        Self {
            entries,
            session,
            path,
        }
    }

    /// Records a cell run as execution number `line` of this session.
    pub fn record(&mut self, line: u32, input: &str, output: Option<String>) {
        let entry = Entry {
            session: self.session,
            line,
            input: input.to_string(),
            output,
        };
        if let Some(path) = &self.path {
            if let Err(e) = append(path, &entry) {
                elog!("ferrolab: history not saved to {}: {e}", path.display());
            }
        }
        self.entries.push(entry);
    }

    /// Answers a request with `[session, line, input]` items, or
    /// `[session, line, [input, output]]` when output is asked for.
    pub fn query(&self, req: &HistoryRequest) -> Vec<Value> {
        let selected: Vec<&Entry> = match req.hist_access_type {
            HistAccess::Tail => {
                let all: Vec<&Entry> = self.entries.iter().collect();
                let all = if req.unique { unique(all) } else { all };
                last_n(all, req.n)
            }
            HistAccess::Range => {
                // 0 is this session; negative counts back from it (IPython's rule).
                let session = if req.session <= 0 {
                    i64::from(self.session) + req.session
                } else {
                    req.session
                };
                let stop = req.stop.unwrap_or(i64::MAX);
                self.entries
                    .iter()
                    .filter(|e| i64::from(e.session) == session)
                    .filter(|e| i64::from(e.line) >= req.start && i64::from(e.line) < stop)
                    .collect()
            }
            HistAccess::Search => {
                let pattern = req.pattern.as_deref().unwrap_or("*");
                let all: Vec<&Entry> = self.entries.iter().filter(|e| glob(pattern, &e.input)).collect();
                let all = if req.unique { unique(all) } else { all };
                last_n(all, req.n)
            }
        };
        selected
            .into_iter()
            .map(|e| {
                if req.output {
                    json!([e.session, e.line, [e.input, e.output]])
                } else {
                    json!([e.session, e.line, e.input])
                }
            })
            .collect()
    }
}

fn default_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(HISTORY_ENV) {
        return Some(PathBuf::from(path));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("ferrolab").join("history.jsonl"))
}

fn append(path: &PathBuf, entry: &Entry) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    let mut line = serde_json::to_string(entry)?;
    line.push('\n');
    file.write_all(line.as_bytes())
}

/// Keeps the latest occurrence of each input, in order.
fn unique(entries: Vec<&Entry>) -> Vec<&Entry> {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<&Entry> = entries
        .into_iter()
        .rev()
        .filter(|e| seen.insert(&e.input))
        .collect();
    kept.reverse();
    kept
}

fn last_n(entries: Vec<&Entry>, n: Option<usize>) -> Vec<&Entry> {
    let n = n.unwrap_or(entries.len()).min(entries.len());
    entries[entries.len() - n..].to_vec()
}

/// Shell-style glob: `*` any run, `?` one char, everything else literal.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matcher with one backtrack point for the last `*`: linear-ish,
    // and no recursion for a hostile pattern to blow up.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: HistAccess) -> HistoryRequest {
        HistoryRequest {
            output: false,
            raw: true,
            hist_access_type: kind,
            session: 0,
            start: 0,
            stop: None,
            n: None,
            pattern: None,
            unique: false,
        }
    }

    #[test]
    fn glob_matches() {
        assert!(glob("*", ""));
        assert!(glob("pri*", "print(1)"));
        assert!(glob("*(?)", "print(1)"));
        assert!(!glob("pri?", "print"));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b*c", "aXbYbZ"));
    }

    #[test]
    fn persists_across_sessions_and_queries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.jsonl");
        let mut first = History::open_at(Some(path.clone()));
        first.record(1, "1+1", Some("2".into()));
        first.record(2, "print(\"a\")", None);
        let mut second = History::open_at(Some(path));
        assert_eq!(second.session, 2);
        second.record(1, "1+1", Some("2".into()));

        let mut tail = request(HistAccess::Tail);
        tail.n = Some(2);
        assert_eq!(
            second.query(&tail),
            vec![json!([1, 2, "print(\"a\")"]), json!([2, 1, "1+1"])]
        );
        tail.unique = true;
        tail.n = Some(10);
        assert_eq!(second.query(&tail).len(), 2);

        let mut range = request(HistAccess::Range);
        range.session = -1;
        range.start = 1;
        range.stop = Some(2);
        range.output = true;
        assert_eq!(second.query(&range), vec![json!([1, 1, ["1+1", "2"]])]);

        let mut search = request(HistAccess::Search);
        search.pattern = Some("1+*".into());
        assert_eq!(second.query(&search).len(), 2);
        search.unique = true;
        assert_eq!(second.query(&search), vec![json!([2, 1, "1+1"])]);
    }

    #[test]
    fn hostile_ranges_select_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut history = History::open_at(Some(dir.path().join("h.jsonl")));
        history.record(1, "1+1", None);
        for (session, start, stop) in [(i64::MIN, i64::MIN, i64::MAX), (i64::MAX, i64::MAX, i64::MIN)] {
            let mut range = request(HistAccess::Range);
            (range.session, range.start, range.stop) = (session, start, Some(stop));
            assert!(history.query(&range).is_empty());
        }
    }
}
