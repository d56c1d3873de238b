//! Where a model lives: a directory given as a path, or a model id looked up where Hugging
//! Face keeps its downloads (`$HF_HUB_CACHE`, `$HF_HOME/hub`, `~/.cache/huggingface/hub`), as
//! `transformers` does offline. Nothing is downloaded.

use std::path::{Path, PathBuf};

use super::error::{PretrainedError, PretrainedResult};

/// The directory of `path_or_id`: the path itself if it is a directory, otherwise the snapshot
/// of the model id in the Hugging Face cache (`models--org--name/snapshots/<revision>/`, the
/// one `refs/main` names, else the newest).
pub fn resolve_model_dir(path_or_id: &str) -> PretrainedResult<PathBuf> {
    let path = Path::new(path_or_id);
    if path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let folder = format!("models--{}", path_or_id.replace('/', "--"));
    let mut looked = vec![path.to_path_buf()];
    for cache in cache_dirs() {
        let repo = cache.join(&folder);
        looked.push(repo.join("snapshots"));
        if let Some(dir) = snapshot(&repo) {
            return Ok(dir);
        }
    }
    Err(PretrainedError::NotFound {
        model: path_or_id.to_string(),
        looked,
        how: format!(
            "Pass the directory that holds config.json, model.safetensors and vocab.txt, or download \
             the model once where Hugging Face keeps it: `hf download {path_or_id}` (pip install \
             huggingface_hub), or for all-MiniLM-L6-v2 run tests/fixtures/install_minilm.sh."
        ),
    })
}

/// The hub caches, in the order `huggingface_hub` reads its settings.
fn cache_dirs() -> Vec<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let mut dirs = Vec::new();
    if let Some(d) = env("HF_HUB_CACHE") {
        dirs.push(d);
    }
    if let Some(d) = env("HF_HOME") {
        dirs.push(d.join("hub"));
    }
    if let Some(d) = env("XDG_CACHE_HOME") {
        dirs.push(d.join("huggingface").join("hub"));
    }
    if let Some(d) = env("HOME") {
        dirs.push(d.join(".cache").join("huggingface").join("hub"));
    }
    dirs.dedup();
    dirs
}

fn snapshot(repo: &Path) -> Option<PathBuf> {
    let snapshots = repo.join("snapshots");
    if let Ok(rev) = std::fs::read_to_string(repo.join("refs").join("main")) {
        let dir = snapshots.join(rev.trim());
        if dir.is_dir() {
            return Some(dir);
        }
    }
    let mut dirs: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&snapshots)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("config.json").exists())
        .map(|e| {
            let time = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (time, e.path())
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, p)| p)
}

/// The folder that holds the BERT itself: `dir`, or for a sentence-transformers model whose
/// Transformer module lives in a subfolder (`0_Transformer/`), that subfolder.
pub(crate) fn transformer_dir(dir: &Path) -> PathBuf {
    if dir.join("config.json").exists() {
        return dir.to_path_buf();
    }
    let modules = std::fs::read_to_string(dir.join("modules.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
    let sub = modules.as_ref().and_then(|m| m.as_array()).and_then(|mods| {
        mods.iter()
            .find(|m| {
                m["type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("models.Transformer"))
            })
            .and_then(|m| m["path"].as_str())
    });
    match sub {
        Some(p) if !p.is_empty() => dir.join(p),
        _ => dir.to_path_buf(),
    }
}

/// Whether a sentence-transformers `modules.json` asks for L2-normalised embeddings.
pub(crate) fn normalizes(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("modules.json"))
        .map(|t| t.contains("sentence_transformers.models.Normalize"))
        .unwrap_or(false)
}
