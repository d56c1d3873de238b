//! The model repository: Triton's layout, `DIR/<model>/<version>/`, and the models loaded
//! from it.
//!
//! A version folder is a whole number and holds a checkpoint of ours (one
//! `NAME.safetensors` with its `NAME.safetensors.json` sidecar) or a Hugging Face BERT
//! directory; `DIR/<model>/ferrolab.json` holds the model's settings ([`ModelSettings`]).
//! The latest version (the highest number) is served, as Triton's default policy does.
//!
//! Loading happens outside the lock: a model being (re)loaded keeps serving its old
//! version, and the new one replaces it in one step under the write lock, so no request
//! sees the model missing. Requests hold an `Arc` of the version they were given; the old
//! version's threads finish those and exit once the last one is answered. Unloading
//! removes the model the same way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context;

use super::backend::{Backend, Signature};
use super::batcher::{Executor, Job};
use super::config::ModelSettings;
use super::error::{ServeError, ServeResult};
use super::stats::Stats;
use crate::sync::lock;

/// One loaded version of a model: its signature, settings, queue and threads, counters.
pub struct Version {
    pub model: String,
    pub version: u64,
    pub kind: &'static str,
    pub signature: Signature,
    pub settings: ModelSettings,
    pub stats: Arc<Stats>,
    executor: Executor,
}

impl Version {
    pub fn submit(&self, job: Job) -> ServeResult<()> {
        self.executor.submit(job)
    }

    pub fn version_string(&self) -> String {
        self.version.to_string()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ModelState {
    Loading,
    Ready,
    Unavailable(String),
}

impl ModelState {
    pub fn name(&self) -> &'static str {
        match self {
            ModelState::Loading => "LOADING",
            ModelState::Ready => "READY",
            ModelState::Unavailable(_) => "UNAVAILABLE",
        }
    }
}

struct ModelEntry {
    state: ModelState,
    /// At most one today (the latest); a map so that a version policy can keep more.
    versions: BTreeMap<u64, Arc<Version>>,
}

/// One row of the repository index.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    pub name: String,
    pub version: String,
    pub state: &'static str,
    pub reason: String,
}

pub struct Repository {
    root: PathBuf,
    models: RwLock<BTreeMap<String, ModelEntry>>,
    /// One load or unload at a time (a load takes seconds; two of the same model would race).
    changing: Mutex<()>,
}

impl Repository {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            models: RwLock::default(),
            changing: Mutex::new(()),
        }
    }

    /// The models in the repository folder, by name.
    pub fn names_on_disk(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.root)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Loads (or reloads) the latest version of `name`; blocks for as long as that takes.
    pub fn load(&self, name: &str) -> ServeResult<()> {
        check_name(name)?;
        let _one_at_a_time = lock(&self.changing);
        {
            let mut models = self.models.write().unwrap_or_else(|e| e.into_inner());
            let entry = models.entry(name.to_string()).or_insert_with(|| ModelEntry {
                state: ModelState::Loading,
                versions: BTreeMap::new(),
            });
            if entry.versions.is_empty() {
                entry.state = ModelState::Loading;
            }
        }
        let loaded = self.load_latest(name);
        let mut models = self.models.write().unwrap_or_else(|e| e.into_inner());
        let entry = models
            .get_mut(name)
            .expect("inserted above; only this function removes under the same lock");
        match loaded {
            Ok(version) => {
                entry.versions = BTreeMap::from([(version.version, Arc::new(version))]);
                entry.state = ModelState::Ready;
                Ok(())
            }
            Err(e) => {
                let why = format!("{e:#}");
                if entry.versions.is_empty() {
                    entry.state = ModelState::Unavailable(why.clone());
                }
                Err(ServeError::bad(format!("failed to load model '{name}': {why}")))
            }
        }
    }

    fn load_latest(&self, name: &str) -> anyhow::Result<Version> {
        let dir = self.root.join(name);
        anyhow::ensure!(
            dir.is_dir(),
            "no folder {} in the model repository",
            dir.display()
        );
        let settings = ModelSettings::read(&dir)?;
        let version = latest_version(&dir)?;
        let version_dir = dir.join(version.to_string());
        let backend =
            Backend::load(&version_dir).with_context(|| format!("loading {}", version_dir.display()))?;
        let signature = backend.signature(&settings);
        let widths = signature
            .outputs
            .iter()
            .map(|o| o.dims.iter().product::<i64>() as usize)
            .collect();
        let stats = Arc::new(Stats::default());
        let kind = backend.kind();
        let executor = Executor::start(
            &format!("{name}-{version}"),
            Arc::new(backend),
            &settings,
            stats.clone(),
            widths,
        )?;
        Ok(Version {
            model: name.to_string(),
            version,
            kind,
            signature,
            settings,
            stats,
            executor,
        })
    }

    /// Removes `name`; its last requests still finish on the old version.
    pub fn unload(&self, name: &str) -> ServeResult<()> {
        check_name(name)?;
        let _one_at_a_time = lock(&self.changing);
        let mut models = self.models.write().unwrap_or_else(|e| e.into_inner());
        match models.get_mut(name) {
            Some(entry) => {
                entry.versions.clear();
                entry.state = ModelState::Unavailable("unloaded".into());
                Ok(())
            }
            None if self.root.join(name).is_dir() => Ok(()),
            None => Err(ServeError::not_found(format!("unknown model '{name}'"))),
        }
    }

    /// The version to run: `version` if given (and loaded), else the latest.
    pub fn get(&self, name: &str, version: Option<&str>) -> ServeResult<Arc<Version>> {
        let models = self.models.read().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = models.get(name) else {
            return Err(ServeError::not_found(format!("unknown model '{name}'")));
        };
        let wanted = match version.filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(v.parse::<u64>().map_err(|_| {
                ServeError::not_found(format!(
                    "model '{name}' has no version '{v}' (versions are whole numbers)"
                ))
            })?),
        };
        if entry.versions.is_empty() {
            let why = match &entry.state {
                ModelState::Loading => "is loading".to_string(),
                ModelState::Unavailable(why) => format!("is not available: {why}"),
                ModelState::Ready => "has no version".to_string(),
            };
            return match wanted {
                Some(v) => Err(ServeError::not_found(format!(
                    "model '{name}' version {v} is not loaded ({why})"
                ))),
                None => Err(ServeError::unavailable(format!("model '{name}' {why}"))),
            };
        }
        match wanted {
            None => Ok(entry.versions.values().next_back().cloned().expect("not empty")),
            Some(v) => entry.versions.get(&v).cloned().ok_or_else(|| {
                let have: Vec<_> = entry.versions.keys().collect();
                ServeError::not_found(format!(
                    "model '{name}' has no version {v} loaded (loaded: {have:?})"
                ))
            }),
        }
    }

    /// Whether `name` (at `version`, if given) can take requests.
    pub fn is_ready(&self, name: &str, version: Option<&str>) -> ServeResult<bool> {
        match self.get(name, version) {
            Ok(_) => Ok(true),
            Err(e) if e.kind == super::error::ErrorKind::Unavailable => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every loaded version, by model then version.
    pub fn loaded(&self) -> Vec<Arc<Version>> {
        let models = self.models.read().unwrap_or_else(|e| e.into_inner());
        models
            .values()
            .flat_map(|e| e.versions.values().cloned())
            .collect()
    }

    /// Whether every model that has been asked to load is loaded.
    pub fn all_ready(&self) -> bool {
        let models = self.models.read().unwrap_or_else(|e| e.into_inner());
        models.values().all(|e| e.state != ModelState::Loading)
    }

    /// The repository index: every model on disk or known, with its state.
    pub fn index(&self, ready_only: bool) -> Vec<IndexEntry> {
        let models = self.models.read().unwrap_or_else(|e| e.into_inner());
        let mut names = self.names_on_disk();
        names.extend(models.keys().cloned());
        names.sort();
        names.dedup();
        let mut out = Vec::new();
        for name in names {
            match models.get(&name) {
                Some(entry) if !entry.versions.is_empty() => {
                    for v in entry.versions.keys() {
                        out.push(IndexEntry {
                            name: name.clone(),
                            version: v.to_string(),
                            state: "READY",
                            reason: String::new(),
                        });
                    }
                }
                Some(entry) if !ready_only => {
                    let reason = match &entry.state {
                        ModelState::Unavailable(why) => why.clone(),
                        _ => String::new(),
                    };
                    out.push(IndexEntry {
                        name,
                        version: String::new(),
                        state: entry.state.name(),
                        reason,
                    });
                }
                None if !ready_only => {
                    out.push(IndexEntry {
                        name,
                        version: String::new(),
                        state: "UNAVAILABLE",
                        reason: "unloaded".into(),
                    });
                }
                _ => {}
            }
        }
        out
    }
}

/// A model name is one folder name: no separators, no `..`.
fn check_name(name: &str) -> ServeResult<()> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && name.len() <= 255;
    if ok {
        Ok(())
    } else {
        Err(ServeError::bad(format!(
            "'{name}' is not a model name (one folder name of the repository)"
        )))
    }
}

/// The highest whole-number subfolder of a model's folder.
fn latest_version(dir: &Path) -> anyhow::Result<u64> {
    std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str()?.parse::<u64>().ok())
        .filter(|&v| v > 0)
        .max()
        .with_context(|| format!("{} has no version folder (1/, 2/, …)", dir.display()))
}
