//! `RestoredClassifier`: a checkpoint rebuilt by the kind and sizes its sidecar names gives
//! the same logits as the model that was saved; what cannot be restored by name is an error
//! that says why.

use ferrolab::prelude::*;
use ferrolab::train::{save_checkpoint, softmax_rows, RestoredClassifier};

fn inputs(n: usize) -> Vec<f32> {
    (0..n).map(|i| ((i * 37) % 101) as f32 / 101.0 - 0.5).collect()
}

#[test]
fn each_book_model_restores_to_the_same_logits() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::seed_from_u64(11);

    let cnn = Cnn::<f32, Cpu>::with_sizes(&dev, 1, 12, 4).unwrap();
    let path = dir.path().join("cnn.safetensors");
    save_checkpoint(&cnn, &path, 0, None).unwrap();
    let (restored, meta) = RestoredClassifier::load(&Cpu::default(), &path).unwrap();
    assert_eq!(
        (meta.kind.as_str(), restored.input_shape(), restored.classes()),
        ("cnn", vec![1, 12, 12], 4)
    );
    let x = inputs(3 * 144);
    let want = cnn
        .forward(dev.tensor_from_vec(x.clone(), (3, 1, 12, 12)))
        .as_vec();
    assert_eq!(restored.logits(&x, 3).unwrap(), want);

    let lstm = StackedLstm::<f32, Cpu>::with_sizes(&dev, 5, 3, 4, 2);
    let path = dir.path().join("lstm.safetensors");
    save_checkpoint(&lstm, &path, 0, None).unwrap();
    let (restored, _) = RestoredClassifier::load(&Cpu::default(), &path).unwrap();
    let x = inputs(2 * 15);
    let want = lstm.forward(dev.tensor_from_vec(x.clone(), (2, 5, 3))).as_vec();
    assert_eq!(restored.logits(&x, 2).unwrap(), want);

    let mlp = Mlp::<f32, Cpu>::new(&dev, 6, 5, 3);
    let path = dir.path().join("mlp.safetensors");
    save_checkpoint(&mlp, &path, 0, None).unwrap();
    let (restored, _) = RestoredClassifier::load(&Cpu::default(), &path).unwrap();
    let x = inputs(4 * 6);
    let want = mlp.forward(dev.tensor_from_vec(x.clone(), (4, 6))).as_vec();
    let got = restored.logits(&x, 4).unwrap();
    assert_eq!(got, want);
    let probs = softmax_rows(&got, 3);
    for row in probs.chunks(3) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{row:?}");
    }
    let err = restored.logits(&x[..23], 4).unwrap_err().to_string();
    assert!(err.contains("4 samples"), "{err}");
}

#[test]
fn what_cannot_be_restored_by_name_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::seed_from_u64(0);
    let bert = BertClassifier::<f32, Cpu, 2>::new(&dev, BertConfig::small(30, 3)).unwrap();
    let path = dir.path().join("bert.safetensors");
    save_checkpoint(&bert, &path, 0, None).unwrap();
    let err = RestoredClassifier::load(&Cpu::default(), &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bert_classifier") && err.contains("\"cnn\"") && err.contains("save_pretrained"),
        "{err}"
    );

    let cnn = Cnn::<f32, Cpu>::new(&dev);
    let path = dir.path().join("bare.safetensors");
    save_checkpoint(&cnn, &path, 0, None).unwrap();
    std::fs::remove_file(dir.path().join("bare.safetensors.json")).unwrap();
    let err = RestoredClassifier::load(&Cpu::default(), &path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no sidecar"), "{err}");
}
