//! A model's serving settings: `DIR/<model>/ferrolab.json`, optional, every field optional.
//!
//! ```json
//! {"max_batch_size": 32, "max_queue_delay_microseconds": 500, "max_queue_size": 256,
//!  "instance_count": 2, "timeout_ms": 30000, "input_name": "input", "output_names": ["logits", "probabilities"]}
//! ```
//!
//! `max_queue_delay_microseconds: 0` turns dynamic batching off (each request runs alone,
//! still on the model's threads). Unknown fields are an error that names them, so a typo
//! is not silently ignored.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

/// The settings file's name inside a model's folder.
pub const CONFIG_FILE: &str = "ferrolab.json";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSettings {
    /// The most samples one forward pass takes (requests are merged up to it).
    pub max_batch_size: usize,
    /// How long the first request of a batch waits for others; 0 disables batching.
    pub max_queue_delay_microseconds: u64,
    /// Requests waiting beyond this many are refused with 503.
    pub max_queue_size: usize,
    /// Threads running the model, each with its own share of the queue.
    pub instance_count: usize,
    /// A request still queued after this long fails with 503.
    pub timeout_ms: u64,
    /// The input tensor's name (default `input`, or `text` for a BERT).
    pub input_name: Option<String>,
    /// The output tensors' names, in the model's order.
    pub output_names: Option<Vec<String>>,
}

impl Default for ModelSettings {
    fn default() -> Self {
        Self {
            max_batch_size: 64,
            max_queue_delay_microseconds: 500,
            max_queue_size: 1024,
            instance_count: 1,
            timeout_ms: 30_000,
            input_name: None,
            output_names: None,
        }
    }
}

impl ModelSettings {
    /// The settings in `model_dir`, or the defaults when it has none.
    pub fn read(model_dir: &Path) -> anyhow::Result<Self> {
        let path = model_dir.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let settings: Self =
            serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))?;
        settings
            .check()
            .with_context(|| format!("in {}", path.display()))?;
        Ok(settings)
    }

    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.max_batch_size >= 1, "max_batch_size must be at least 1");
        anyhow::ensure!(self.max_queue_size >= 1, "max_queue_size must be at least 1");
        anyhow::ensure!(
            (1..=64).contains(&self.instance_count),
            "instance_count must be 1 to 64, got {}",
            self.instance_count
        );
        anyhow::ensure!(self.timeout_ms >= 1, "timeout_ms must be at least 1");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_gives_defaults_and_typos_are_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ModelSettings::read(dir.path()).unwrap(), ModelSettings::default());
        std::fs::write(dir.path().join(CONFIG_FILE), r#"{"max_batch_sise": 4}"#).unwrap();
        let err = format!("{:#}", ModelSettings::read(dir.path()).unwrap_err());
        assert!(err.contains("max_batch_sise"), "{err}");
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            r#"{"max_batch_size": 4, "instance_count": 2}"#,
        )
        .unwrap();
        let s = ModelSettings::read(dir.path()).unwrap();
        assert_eq!((s.max_batch_size, s.instance_count), (4, 2));
    }
}
