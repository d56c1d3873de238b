//! `ferrolab install`: writes the Jupyter kernelspec (kernel.json and logos) and then
//! runs warmup, so `jupyter kernelspec list` shows "Rust (ferrolab)" and its first
//! cell starts fast.
//!
//! The spec is written into a temporary sibling dir and renamed into place, so a
//! reader never sees a half-written spec. Locations follow Jupyter's rules for
//! Linux and macOS (`JUPYTER_DATA_DIR`, `~/.local/share/jupyter`, `~/Library/Jupyter`);
//! Windows is not handled.

use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The kernelspec's name (its directory name).
pub const KERNEL_NAME: &str = "ferrolab";

const LOGO_32: &[u8] = include_bytes!("../assets/logo-32x32.png");
const LOGO_64: &[u8] = include_bytes!("../assets/logo-64x64.png");

/// Where to install, as `jupyter kernelspec install` spells it.
#[derive(Debug, Clone)]
pub enum Location {
    User,
    SysPrefix,
    Prefix(PathBuf),
}

/// The `kernels` directory for a location.
pub fn kernels_dir(location: &Location) -> Result<PathBuf> {
    Ok(match location {
        Location::User => user_data_dir()?.join("kernels"),
        Location::SysPrefix => sys_prefix()?.join("share/jupyter/kernels"),
        Location::Prefix(prefix) => prefix.join("share/jupyter/kernels"),
    })
}

fn user_data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("JUPYTER_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let home = dirs::home_dir().context("no home directory")?;
    Ok(if cfg!(target_os = "macos") {
        home.join("Library/Jupyter")
    } else {
        dirs::data_dir()
            .unwrap_or_else(|| home.join(".local/share"))
            .join("jupyter")
    })
}

/// The active Python environment's prefix: a virtualenv or conda env if one is
/// active, else what `python3` reports.
fn sys_prefix() -> Result<PathBuf> {
    for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        if let Some(dir) = std::env::var_os(var) {
            return Ok(PathBuf::from(dir));
        }
    }
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.prefix)"])
        .output()
        .context("--sys-prefix needs python3 on PATH")?;
    if !out.status.success() {
        bail!("python3 could not report sys.prefix");
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The kernel.json content for this binary and library.
pub fn kernel_json(exe: &Path, library: Option<&Path>) -> serde_json::Value {
    let mut spec = json!({
        "argv": [exe.display().to_string(), "kernel", "-f", "{connection_file}"],
        "display_name": "Rust (ferrolab)",
        "language": "rust",
        "interrupt_mode": "message",
        "metadata": { "debugger": false },
    });
    // jupyter_client ≥ 8.9 provisions CurveZMQ keys only for a kernel that declares them.
    if crate::jupyter::connection::curve_available() {
        spec["metadata"]["supported_encryption"] = json!(["curve"]);
    }
    // Pin the library this binary was installed with, so the kernel finds it even
    // if Jupyter starts it from elsewhere.
    if let Some(lib) = library {
        spec["env"] = json!({ "FERROLAB_LIBRARY_PATH": lib.display().to_string() });
    }
    spec
}

/// Writes the spec atomically under `kernels`; returns the spec's directory.
pub fn write_spec(kernels: &Path, spec: &serde_json::Value) -> Result<PathBuf> {
    std::fs::create_dir_all(kernels).with_context(|| format!("creating {}", kernels.display()))?;
    let final_dir = kernels.join(KERNEL_NAME);
    let tmp = kernels.join(format!(".{KERNEL_NAME}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp)?;
    std::fs::write(tmp.join("kernel.json"), serde_json::to_vec_pretty(spec)?)?;
    std::fs::write(tmp.join("logo-32x32.png"), LOGO_32)?;
    std::fs::write(tmp.join("logo-64x64.png"), LOGO_64)?;
    // rename(2) cannot replace a non-empty dir: move the old one aside first.
    let old = kernels.join(format!(".{KERNEL_NAME}.old-{}", std::process::id()));
    let had_old = final_dir.exists();
    if had_old {
        std::fs::rename(&final_dir, &old)?;
    }
    if let Err(e) = std::fs::rename(&tmp, &final_dir) {
        if had_old {
            let _ = std::fs::rename(&old, &final_dir);
        }
        return Err(e).context("installing the kernelspec");
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(final_dir)
}

/// Installs the spec for the running binary.
pub fn install(location: &Location) -> Result<PathBuf> {
    let exe = std::env::current_exe()?.canonicalize()?;
    let library = crate::engine::setup::library_path().ok();
    let dir = write_spec(&kernels_dir(location)?, &kernel_json(&exe, library.as_deref()))?;
    println!(
        "Installed kernelspec `{KERNEL_NAME}` (Rust (ferrolab)) in {}",
        dir.display()
    );
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_a_spec() {
        let root = tempfile::tempdir().unwrap();
        let kernels = kernels_dir(&Location::Prefix(root.path().into())).unwrap();
        let spec = kernel_json(Path::new("/bin/ferrolab"), None);
        let dir = write_spec(&kernels, &spec).unwrap();
        let dir2 = write_spec(&kernels, &spec).unwrap();
        assert_eq!(dir, dir2);
        let names: Vec<_> = std::fs::read_dir(&kernels)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary dirs left: {names:?}");
        let read: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("kernel.json")).unwrap()).unwrap();
        assert_eq!(read["argv"][1], "kernel");
        assert_eq!(read["argv"][3], "{connection_file}");
        assert_eq!(read["interrupt_mode"], "message");
        assert_eq!(std::fs::read(dir.join("logo-64x64.png")).unwrap(), LOGO_64);
    }
}
