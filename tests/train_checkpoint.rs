//! Checkpoints: round trips, atomic replacement when a save fails before the rename, and
//! errors that name the file and the tensor for garbage, truncated and misfitting files.

use std::path::Path;

use ferrolab::prelude::*;
use ferrolab::train::{check_checkpoint, read_sidecar, save_checkpoint_with_hook, sidecar_path};

fn mlp(hidden: usize, seed: u64) -> Mlp<f32, Cpu> {
    Mlp::new(&Cpu::seed_from_u64(seed), 64, hidden, 10)
}

fn weights(model: &Mlp<f32, Cpu>) -> Vec<f32> {
    model.hidden_1.weight.as_vec()
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn save_then_load_restores_weights_and_meta() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let saved = mlp(16, 1);
    save_checkpoint(&saved, &path, 4, None).unwrap();
    let mut loaded = mlp(16, 2);
    assert_ne!(weights(&loaded), weights(&saved));
    let meta = load_checkpoint(&mut loaded, &path).unwrap().unwrap();
    assert_eq!(weights(&loaded), weights(&saved));
    assert_eq!(meta.epoch, 4);
    assert_eq!(meta.kind, "mlp");
    assert_eq!(
        meta.config,
        serde_json::json!({"features": 64, "hidden": 16, "classes": 10})
    );
    assert_eq!(dir_names(dir.path()), ["m.safetensors", "m.safetensors.json"]);
}

#[test]
fn book_models_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::seed_from_u64(3);
    let cnn = Cnn::<f32, Cpu>::new(&dev);
    save_checkpoint(&cnn, dir.path().join("cnn.st"), 0, None).unwrap();
    let mut other = Cnn::<f32, Cpu>::new(&dev);
    load_checkpoint(&mut other, dir.path().join("cnn.st")).unwrap();
    assert_eq!(other.dense.weight.as_vec(), cnn.dense.weight.as_vec());
    let bert = BertClassifier::<f32, Cpu, 2>::new(&dev, BertConfig::small(40, 2)).unwrap();
    let path = dir.path().join("bert.st");
    save_checkpoint(&bert, &path, 0, None).unwrap();
    assert_eq!(read_sidecar(&path).unwrap().unwrap().config["heads"], 4);
    let mut other = BertClassifier::<f32, Cpu, 2>::new(&dev, BertConfig::small(40, 2)).unwrap();
    load_checkpoint(&mut other, &path).unwrap();
    assert_eq!(other.classifier.weight.as_vec(), bert.classifier.weight.as_vec());
}

#[test]
fn a_failure_before_the_rename_keeps_the_old_checkpoint_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    save_checkpoint(&mlp(16, 1), &path, 1, None).unwrap();
    let old_weights = std::fs::read(&path).unwrap();
    let old_sidecar = std::fs::read(sidecar_path(&path)).unwrap();

    let mut seen = Vec::new();
    let mut fail = |tmp: &Path| {
        // The temporary file sits beside the target and is fully written by now.
        assert_eq!(tmp.parent(), Some(dir.path()));
        seen.push(std::fs::metadata(tmp).unwrap().len());
        Err(std::io::Error::other("disk unplugged"))
    };
    let e = save_checkpoint_with_hook(&mlp(16, 2), &path, 2, None, &mut fail).unwrap_err();
    assert!(
        e.to_string().contains("m.safetensors") && e.to_string().contains("disk unplugged"),
        "{e}"
    );
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0] > 64 * 16 * 4,
        "temp file held the new weights ({} bytes)",
        seen[0]
    );
    assert_eq!(std::fs::read(&path).unwrap(), old_weights);
    assert_eq!(std::fs::read(sidecar_path(&path)).unwrap(), old_sidecar);
    assert_eq!(dir_names(dir.path()), ["m.safetensors", "m.safetensors.json"]);

    // A failure on the sidecar's rename leaves the (already replaced) weights and the old sidecar.
    let mut calls = 0;
    let mut fail_second = |_: &Path| {
        calls += 1;
        if calls == 2 {
            Err(std::io::Error::other("late failure"))
        } else {
            Ok(())
        }
    };
    save_checkpoint_with_hook(&mlp(16, 2), &path, 2, None, &mut fail_second).unwrap_err();
    assert_eq!(std::fs::read(sidecar_path(&path)).unwrap(), old_sidecar);
    assert_eq!(dir_names(dir.path()), ["m.safetensors", "m.safetensors.json"]);
}

/// A save removes the temporary files that dead writers of the same checkpoint left, and
/// keeps those of a live writer and of other files.
#[test]
fn a_save_removes_only_orphaned_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap(); // reaped: its pid names no process now
    let live_pid = std::process::id();
    let files = [
        format!(".m.safetensors.{dead_pid}.abc123.tmp"),
        format!(".m.safetensors.json.{dead_pid}.def456.tmp"),
        format!(".m.safetensors.{live_pid}.ghi789.tmp"),
        format!(".other.safetensors.{dead_pid}.jkl012.tmp"),
    ];
    for f in &files {
        std::fs::write(dir.path().join(f), b"partial").unwrap();
    }
    save_checkpoint(&mlp(16, 1), &path, 1, None).unwrap();
    let mut expected = vec![
        files[2].clone(),
        files[3].clone(),
        "m.safetensors".to_string(),
        "m.safetensors.json".to_string(),
    ];
    expected.sort();
    assert_eq!(dir_names(dir.path()), expected);
}

#[test]
fn garbage_and_truncated_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"this is not a safetensors file at all").unwrap();
    let mut model = mlp(16, 1);
    let before = weights(&model);
    let e = load_checkpoint(&mut model, &garbage).unwrap_err().to_string();
    assert!(
        e.contains("garbage.safetensors") && e.contains("not a readable safetensors"),
        "{e}"
    );

    let good = dir.path().join("good.safetensors");
    save_checkpoint(&mlp(16, 2), &good, 0, None).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.path().join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() - 100]).unwrap();
    let e = load_checkpoint(&mut model, &truncated).unwrap_err().to_string();
    assert!(e.contains("truncated.safetensors"), "{e}");
    assert_eq!(weights(&model), before, "a failed load leaves the model alone");

    let e = load_checkpoint(&mut model, dir.path().join("missing.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.safetensors"), "{e}");
}

#[test]
fn a_misfitting_tensor_is_named_with_both_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.safetensors");
    save_checkpoint(&mlp(32, 1), &path, 0, None).unwrap();
    let mut narrow = mlp(16, 1);
    let before = weights(&narrow);
    let e = check_checkpoint(&narrow, &path).unwrap_err().to_string();
    assert!(e.contains("wide.safetensors"), "{e}");
    assert!(e.contains("hidden_1.weight"), "{e}");
    assert!(e.contains("(16, 64)") && e.contains("(32, 64)"), "{e}");
    assert!(load_checkpoint(&mut narrow, &path).is_err());
    assert_eq!(weights(&narrow), before);
}

#[test]
fn wrong_dtype_and_wrong_model_kind_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f64.safetensors");
    save_checkpoint(&Mlp::<f64, Cpu>::new(&Cpu::default(), 64, 16, 10), &path, 0, None).unwrap();
    let e = check_checkpoint(&mlp(16, 1), &path).unwrap_err().to_string();
    assert!(e.contains("F64") && e.contains("F32"), "{e}");

    let cnn_path = dir.path().join("cnn.safetensors");
    save_checkpoint(&Cnn::<f32, Cpu>::new(&Cpu::default()), &cnn_path, 0, None).unwrap();
    let e = load_checkpoint(&mut mlp(16, 1), &cnn_path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"cnn\"") && e.contains("\"mlp\""), "{e}");
    // Without the sidecar the tensor check still catches it, naming a tensor.
    std::fs::remove_file(sidecar_path(&cnn_path)).unwrap();
    let e = load_checkpoint(&mut mlp(16, 1), &cnn_path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("hidden_1.weight") && e.contains("missing"), "{e}");
}
