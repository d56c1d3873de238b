//! Checkpoints: a model's weights as a safetensors file plus a JSON sidecar (model kind,
//! config, epoch, metrics), each written atomically; loading checks every tensor first.
//!
//! Writing goes to a temporary file in the target's directory, is synced to disk, then
//! renamed over the target, so a crash or error leaves the old checkpoint whole. An error
//! removes its temporary file at once; a killed process cannot, so each temporary file
//! names its writer's pid (`.<file>.<pid>.<random>.tmp`) and the next save beside it
//! removes those whose writer is gone. The sidecar (`<file>.json`) is written the same way
//! after the weights; a crash between the two renames leaves new weights with the old
//! sidecar.
//! Loading reads the file, checks each of the model's tensors (name, dtype, shape) and
//! only then hands the file to dfdx, so a mismatch names the tensor and leaves the model
//! untouched. Tensors are stored under dfdx's names; no Hugging Face name mapping here.

use std::io::Write;
use std::path::{Path, PathBuf};

use dfdx::nn::{LoadFromSafetensors, SaveToSafetensors};
use safetensors::SafeTensors;

use super::error::{TrainError, TrainResult};
use super::feed::Trainable;
use super::history::EpochLogs;
use super::walk::{tensor_specs, TensorSpec};
use crate::error::ShapeText;

/// What the sidecar records about a checkpoint.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CheckpointMeta {
    /// `Classifier::kind`, e.g. `"cnn"`.
    pub kind: String,
    /// `Classifier::config`: the sizes to rebuild the model.
    pub config: serde_json::Value,
    /// The epoch after which it was saved (0: not during training).
    pub epoch: usize,
    pub metrics: Option<EpochLogs>,
    /// The ferrolab version that wrote it.
    pub library_version: String,
}

/// The sidecar's path: the checkpoint's path with `.json` appended.
pub fn sidecar_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}

/// Saves `model` to `path` (and its sidecar) atomically.
pub fn save_checkpoint<M: Trainable>(
    model: &M,
    path: impl AsRef<Path>,
    epoch: usize,
    metrics: Option<&EpochLogs>,
) -> TrainResult<CheckpointMeta> {
    save_checkpoint_with_hook(model, path.as_ref(), epoch, metrics, &mut |_| Ok(()))
}

/// [`save_checkpoint`] with `before_rename` run on each temporary file after it is written
/// and synced, just before it replaces the target; an error there aborts the save. For
/// tests that inject failures.
#[doc(hidden)]
pub fn save_checkpoint_with_hook<M: Trainable>(
    model: &M,
    path: &Path,
    epoch: usize,
    metrics: Option<&EpochLogs>,
    before_rename: &mut dyn FnMut(&Path) -> std::io::Result<()>,
) -> TrainResult<CheckpointMeta> {
    let meta = CheckpointMeta {
        kind: model.kind(),
        config: model.config(),
        epoch,
        metrics: metrics.copied(),
        library_version: env!("CARGO_PKG_VERSION").into(),
    };
    write_atomically(path, before_rename, |tmp| {
        model
            .save_safetensors(tmp)
            .map_err(|e| std::io::Error::other(format!("writing safetensors: {e:?}")))
    })?;
    let json = serde_json::to_vec_pretty(&meta).map_err(std::io::Error::other);
    let sidecar = sidecar_path(path);
    write_atomically(&sidecar, before_rename, |tmp| std::fs::write(tmp, json?))?;
    Ok(meta)
}

/// Writes `path` through a temporary file beside it: `write` fills the file, then it is
/// synced, `before_rename` runs, and the rename makes it visible.
fn write_atomically(
    path: &Path,
    before_rename: &mut dyn FnMut(&Path) -> std::io::Result<()>,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> TrainResult<()> {
    let io = |e| TrainError::io(path, e);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // ModelCheckpoint paths such as `runs/cnn-{epoch}.safetensors` may name a new folder.
    std::fs::create_dir_all(&dir).map_err(io)?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    remove_orphaned_temporaries(&dir, &name);
    // Dropping `tmp` on any early return deletes the temporary file.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.{}.", std::process::id()))
        .suffix(TEMPORARY_SUFFIX)
        .tempfile_in(&dir)
        .map_err(io)?;
    write(tmp.path()).map_err(io)?;
    // dfdx wrote through its own handle; reopen to flush the file's data to disk.
    std::fs::File::options()
        .append(true)
        .open(tmp.path())
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    before_rename(tmp.path()).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    sync_dir(&dir);
    Ok(())
}

const TEMPORARY_SUFFIX: &str = ".tmp";

/// Removes the temporary files of saves to `dir/name` whose writer died mid-save (a kill,
/// a crash, a pulled plug). Best effort: a file that cannot be removed only costs space.
/// A writer whose pid was since reused looks alive and its file stays, which is harmless.
fn remove_orphaned_temporaries(dir: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(rest) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .filter(|rest| rest.ends_with(TEMPORARY_SUFFIX))
        else {
            continue;
        };
        let writer = rest.split('.').next().and_then(|pid| pid.parse::<u32>().ok());
        if writer.is_some_and(|pid| !process_alive(pid)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether a process with this pid exists (on platforms that cannot tell, assume it does,
/// so that nothing in use is removed).
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: signal 0 sends nothing; it only checks that the process exists.
        let found = unsafe { libc::kill(pid, 0) } == 0;
        found || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Makes the rename itself durable; best effort (not every platform can open a directory).
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Loads weights from `path` into `model` after checking that every tensor fits; returns
/// the sidecar's metadata when there is one. On any error the model is unchanged.
pub fn load_checkpoint<M: Trainable>(
    model: &mut M,
    path: impl AsRef<Path>,
) -> TrainResult<Option<CheckpointMeta>> {
    let path = path.as_ref();
    let meta = read_sidecar(path)?;
    if let Some(meta) = &meta {
        if meta.kind != model.kind() {
            let why = format!("holds a {:?} model, not a {:?}", meta.kind, model.kind());
            return Err(TrainError::checkpoint(path, why));
        }
    }
    check_checkpoint(model, path)?;
    model
        .load_safetensors(path)
        .map_err(|e| TrainError::checkpoint(path, format!("loading: {e:?}")))?;
    Ok(meta)
}

/// The sidecar beside `path`, if it exists.
pub fn read_sidecar(path: &Path) -> TrainResult<Option<CheckpointMeta>> {
    let sidecar = sidecar_path(path);
    let text = match std::fs::read(&sidecar) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(TrainError::io(&sidecar, e)),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| TrainError::checkpoint(&sidecar, format!("not a checkpoint sidecar: {e}")))
}

/// Checks that the safetensors file at `path` holds every tensor of `model` with its
/// dtype and shape, and nothing else; the error names the file and the first misfit.
pub fn check_checkpoint<M: Trainable>(model: &M, path: impl AsRef<Path>) -> TrainResult<()> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| TrainError::checkpoint(path, format!("not a readable safetensors file ({e:?})")))?;
    let specs = tensor_specs(model);
    for spec in &specs {
        check_tensor(&file, spec).map_err(|why| TrainError::checkpoint(path, why))?;
    }
    let extra: Vec<String> = file
        .names()
        .into_iter()
        .filter(|n| !specs.iter().any(|s| &s.name == *n))
        .cloned()
        .collect();
    if !extra.is_empty() {
        let why = format!("has tensors the model lacks: {}", extra.join(", "));
        return Err(TrainError::checkpoint(path, why));
    }
    Ok(())
}

/// Why one expected tensor does not fit; scalars may be missing (dfdx then keeps defaults).
fn check_tensor(file: &SafeTensors, spec: &TensorSpec) -> Result<(), String> {
    let is_scalar = spec.shape.is_empty();
    let view = match file.tensor(&spec.name) {
        Ok(v) => v,
        Err(_) if is_scalar => return Ok(()),
        Err(_) => return Err(format!("tensor {:?} is missing", spec.name)),
    };
    if view.dtype() != spec.dtype {
        return Err(format!(
            "tensor {:?} is {:?}, the model needs {:?}",
            spec.name,
            view.dtype(),
            spec.dtype
        ));
    }
    if view.shape() != spec.shape.as_slice() {
        return Err(format!(
            "tensor {:?}: the model expects shape {}, the file has {}",
            spec.name,
            ShapeText(spec.shape.clone()),
            ShapeText(view.shape().to_vec())
        ));
    }
    Ok(())
}

/// Writes any bytes atomically (for other files that must never be seen half-written).
pub fn write_file_atomically(path: impl AsRef<Path>, bytes: &[u8]) -> TrainResult<()> {
    write_atomically(path.as_ref(), &mut |_| Ok(()), |tmp| {
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(bytes)
    })
}
