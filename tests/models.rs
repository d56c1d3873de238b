//! The book's models: parameter counts as in Keras, each overfits one fixed batch, save then
//! load gives identical outputs, and wrong inputs give errors that name the layer.

mod common;

use common::random_vec;
use ferrolab::prelude::*;

type Grads = Gradients<f32, Cpu>;

/// Trains on one fixed batch with Adam until the loss is below 5% of its start; returns
/// (first loss, best loss, steps taken). `forward` runs the model on the traced input.
fn overfit<M: TensorCollection<f32, Cpu>>(
    model: &mut M,
    labels: &[usize],
    classes: usize,
    lr: f32,
    mut forward: impl FnMut(&M, Grads) -> Tensor<Dyn2, f32, Cpu, OwnedTape<f32, Cpu>>,
) -> (f32, f32, usize) {
    let dev = Cpu::default();
    let mut onehot = vec![0.0f32; labels.len() * classes];
    for (i, &l) in labels.iter().enumerate() {
        onehot[i * classes + l] = 1.0;
    }
    let targets = dev.tensor_from_vec(onehot, (labels.len(), classes));
    let mut opt = Adam::new(
        model,
        AdamConfig {
            lr: lr as f64,
            ..Default::default()
        },
    );
    let mut grads = model.alloc_grads();
    let (mut first, mut best) = (None, f32::INFINITY);
    for step in 1..=200 {
        let logits = forward(model, grads);
        let loss = cross_entropy_with_logits_loss(logits, targets.clone());
        let value = loss.array();
        let start = *first.get_or_insert(value);
        best = best.min(value);
        if value < 0.05 * start {
            return (start, value, step);
        }
        grads = loss.backward();
        opt.update(model, &grads)
            .expect("every parameter gets a gradient");
        model.zero_grads(&mut grads);
    }
    (first.unwrap(), best, 200)
}

fn assert_overfits(name: &str, (start, end, steps): (f32, f32, usize)) {
    assert!(
        end < 0.05 * start,
        "{name}: loss went from {start} to {end} in {steps} steps; wanted below 5%"
    );
}

fn labels(n: usize, classes: usize) -> Vec<usize> {
    (0..n).map(|i| (i * 7 + 3) % classes).collect()
}

fn floats(n: usize, seed: u64) -> Vec<f32> {
    random_vec(n, seed).into_iter().map(|v| v as f32).collect()
}

/// Token ids with their tape: dfdx traces float tensors only, so the tape comes off a traced scalar.
fn traced_ids(ids: &Tensor<Dyn2, usize, Cpu>, grads: Grads) -> Tensor<Dyn2, usize, Cpu, OwnedTape<f32, Cpu>> {
    let scalar: Tensor<Rank0, f32, Cpu> = Cpu::default().zeros();
    let (_, tape) = scalar.traced(grads).split_tape();
    ids.clone().put_tape(tape)
}

#[test]
fn parameter_counts_match_keras() {
    let dev = Cpu::seed_from_u64(0);
    assert_eq!(Cnn::<f32, Cpu>::new(&dev).summary().total_params(), 34_826);
    assert_eq!(Cnn::<f32, Cpu>::new(&dev).num_trainable_params(), 34_826);
    assert_eq!(
        StackedLstm::<f32, Cpu>::new(&dev).summary().total_params(),
        52_874
    );
    assert_eq!(StackedLstm::<f32, Cpu>::new(&dev).num_trainable_params(), 52_874);
    let mini = BertClassifier::<f32, Cpu, 6>::new(&dev, BertConfig::mini_lm(2)).unwrap();
    // all-MiniLM-L6-v2 has 22,713,216 parameters with its pooler; plus a 384→2 classifier.
    assert_eq!(mini.num_trainable_params(), 22_713_216 + 770);
    assert_eq!(mini.summary(128).total_params(), mini.num_trainable_params());
    assert_eq!(
        mini.config(),
        BertConfig::mini_lm(2),
        "a model reports the sizes it was built with"
    );
    let mlp = Mlp::<f32, Cpu>::new(&dev, 64, 32, 10);
    assert_eq!(
        mlp.summary().total_params(),
        64 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10
    );
}

#[test]
fn summary_shows_keras_shapes() {
    let dev = Cpu::seed_from_u64(0);
    let text = Cnn::<f32, Cpu>::new(&dev).summary().to_string();
    for line in [
        "(None, 32, 26, 26)",
        "(None, 64, 5, 5)",
        "(None, 1600)",
        "Total params: 34,826",
    ] {
        assert!(text.contains(line), "summary lacks {line}:\n{text}");
    }
    let lstm = StackedLstm::<f32, Cpu>::new(&dev).summary();
    assert!(lstm.to_string().contains("(None, 100, 64)"));
    assert!(lstm
        .to_html()
        .contains("<td>lstm (LSTM)</td><td>(None, 100, 64)</td>"));
    let bundle = ferrolab::display::Displayable::mime_bundle(&lstm);
    assert_eq!(bundle.get("text/plain"), Some(lstm.to_string().as_str()));
    assert_eq!(bundle.get("text/html"), Some(lstm.to_html().as_str()));
}

#[test]
fn cnn_overfits_one_batch() {
    let dev = Cpu::seed_from_u64(1);
    let mut model = Cnn::<f32, Cpu>::new(&dev);
    let x = dev.tensor_from_vec(floats(8 * 28 * 28, 1), (8, 1, 28, 28));
    let y = labels(8, 10);
    assert_overfits(
        "Cnn",
        overfit(&mut model, &y, 10, 1e-3, |m, g| m.forward(x.clone().traced(g))),
    );
}

#[test]
fn stacked_lstm_overfits_one_batch() {
    let dev = Cpu::seed_from_u64(2);
    let mut model = StackedLstm::<f32, Cpu>::new(&dev);
    let x = dev.tensor_from_vec(floats(8 * 100 * 10, 2), (8, 100, 10));
    let y = labels(8, 10);
    assert_overfits(
        "StackedLstm",
        overfit(&mut model, &y, 10, 1e-2, |m, g| m.forward(x.clone().traced(g))),
    );
}

#[test]
fn bert_classifier_overfits_one_batch() {
    let dev = Cpu::seed_from_u64(3);
    let mut model = BertClassifier::<f32, Cpu, 2>::new(&dev, BertConfig::small(50, 2)).unwrap();
    // Rows of different lengths, padded with id 0 like real batches.
    let mut ids = Vec::new();
    for row in 0..8 {
        let len = 6 + row % 5;
        ids.extend((0..12).map(|j| {
            if j == 0 {
                2
            } else if j < len {
                4 + (row * 5 + j * 3) % 46
            } else {
                0
            }
        }));
    }
    let ids = dev.tensor_from_vec(ids, (8, 12));
    let y = labels(8, 2);
    assert_overfits(
        "BertClassifier",
        overfit(&mut model, &y, 2, 1e-3, |m, g| m.forward(traced_ids(&ids, g))),
    );
}

#[test]
fn mlp_overfits_one_batch() {
    let dev = Cpu::seed_from_u64(4);
    let mut model = Mlp::<f32, Cpu>::new(&dev, 64, 32, 10);
    let x = dev.tensor_from_vec(floats(16 * 64, 4), (16, 64));
    let y = labels(16, 10);
    assert_overfits(
        "Mlp",
        overfit(&mut model, &y, 10, 1e-2, |m, g| m.forward(x.clone().traced(g))),
    );
}

#[test]
fn save_then_load_gives_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let dev = Cpu::seed_from_u64(5);

    let cnn = Cnn::<f32, Cpu>::new(&dev);
    let x = dev.tensor_from_vec(floats(2 * 28 * 28, 5), (2, 1, 28, 28));
    cnn.save_safetensors(&path).unwrap();
    let mut other = Cnn::<f32, Cpu>::new(&Cpu::seed_from_u64(99));
    assert_ne!(other.forward(x.clone()).as_vec(), cnn.forward(x.clone()).as_vec());
    other.load_safetensors(&path).unwrap();
    assert_eq!(other.forward(x.clone()).as_vec(), cnn.forward(x).as_vec());

    let lstm = StackedLstm::<f64, Cpu>::with_sizes(&dev, 7, 3, 5, 4);
    let x = dev.tensor_from_vec(random_vec(2 * 7 * 3, 6), (2, 7, 3));
    lstm.save_safetensors(&path).unwrap();
    let mut other = StackedLstm::<f64, Cpu>::with_sizes(&Cpu::seed_from_u64(98), 7, 3, 5, 4);
    other.load_safetensors(&path).unwrap();
    assert_eq!(other.forward(x.clone()).as_vec(), lstm.forward(x).as_vec());

    let cfg = BertConfig::small(30, 3);
    let bert = BertClassifier::<f32, Cpu, 2>::new(&dev, cfg).unwrap();
    let ids = dev.tensor_from_vec(vec![2usize, 5, 9, 0, 2, 7, 7, 7], (2, 4));
    bert.save_safetensors(&path).unwrap();
    let mut other = BertClassifier::<f32, Cpu, 2>::new(&Cpu::seed_from_u64(97), cfg).unwrap();
    other.load_safetensors(&path).unwrap();
    assert_eq!(other.forward(ids.clone()).as_vec(), bert.forward(ids).as_vec());

    let mlp = Mlp::<f32, Cpu>::new(&dev, 4, 3, 2);
    let x = dev.tensor_from_vec(floats(8, 7), (2, 4));
    mlp.save_safetensors(&path).unwrap();
    let mut other = Mlp::<f32, Cpu>::new(&Cpu::seed_from_u64(96), 4, 3, 2);
    other.load_safetensors(&path).unwrap();
    assert_eq!(other.forward(x.clone()).as_vec(), mlp.forward(x).as_vec());
}

#[test]
fn a_model_moves_between_dtypes_with_its_configuration() {
    let dev = Cpu::seed_from_u64(6);
    let conv = Conv2D::<f32, Cpu>::new(&dev, Conv2DConfig::new(1, 2, 3).stride(2).padding(1)).unwrap();
    let wide: Conv2D<f64, Cpu> = conv.to_dtype::<f64>();
    assert_eq!(wide.config(), conv.config());
    let x = random_vec(5 * 5, 7);
    let narrow_y = conv.forward(dev.tensor_from_vec(x.iter().map(|&v| v as f32).collect(), (1, 1, 5, 5)));
    let wide_y = wide.forward(dev.tensor_from_vec(x, (1, 1, 5, 5)));
    for (a, b) in narrow_y.as_vec().iter().zip(wide_y.as_vec()) {
        assert!((*a as f64 - b).abs() < 1e-5);
    }
}

#[test]
fn wrong_shapes_are_clear_errors() {
    let dev = Cpu::seed_from_u64(7);
    let message = |e: Error| e.to_string();

    let cnn = Cnn::<f32, Cpu>::new(&dev);
    let err = cnn.try_forward(dev.zeros_like(&(2, 1, 32, 32))).unwrap_err();
    assert_eq!(
        message(err),
        "Cnn: expected input (batch, 1, 28, 28), got shape (2, 1, 32, 32)"
    );

    let conv = Conv2D::<f32, Cpu>::new(&dev, Conv2DConfig::new(3, 4, 5)).unwrap();
    let err = conv.try_forward(dev.zeros_like(&(1, 1, 8, 8))).unwrap_err();
    assert!(message(err).starts_with("Conv2D: expected input (batch, 3, height, width)"));
    let err = conv.try_forward(dev.zeros_like(&(1, 3, 4, 8))).unwrap_err();
    assert!(message(err).contains("got shape (1, 3, 4, 8)"));

    let pool = MaxPool2D::<3>;
    let err =
        Module::<Tensor<Dyn4, f32, Cpu>>::try_forward(&pool, dev.zeros_like(&(1, 1, 2, 9))).unwrap_err();
    assert!(message(err).starts_with("MaxPool2D: expected input"));

    let lstm = StackedLstm::<f32, Cpu>::new(&dev);
    let err = lstm.try_forward(dev.zeros_like(&(2, 100, 12))).unwrap_err();
    assert_eq!(
        message(err),
        "Lstm: expected input (batch, steps, 10) with steps ≥ 1, got shape (2, 100, 12)"
    );

    let dense = Dense::<f32, Cpu>::new(&dev, 4, 2);
    let err = dense.try_forward(dev.zeros_like(&(3, 5))).unwrap_err();
    assert!(message(err).starts_with("Dense: expected input (batch, 4)"));

    let err = MultiHeadAttention::<f32, Cpu>::new(&dev, 10, 4).unwrap_err();
    assert!(message(err).contains("must be a multiple of the number of heads 4"));

    let bert = BertClassifier::<f32, Cpu, 2>::new(&dev, BertConfig::small(30, 2)).unwrap();
    let err = bert
        .try_forward(dev.tensor_from_vec(vec![2usize, 31], (1, 2)))
        .unwrap_err();
    assert_eq!(
        message(err),
        "Embedding: id 31 at (batch 0, step 1) is outside the table of 30 rows"
    );
    let err = bert.try_forward(dev.zeros_like(&(1, 65))).unwrap_err();
    assert!(message(err).contains("steps ≤ 64"));
    let err = BertClassifier::<f32, Cpu, 3>::new(&dev, BertConfig::small(30, 2)).unwrap_err();
    assert!(message(err).contains("config asks for 2 layers but the type has 3"));
}

#[test]
#[should_panic(expected = "Conv2D: expected input (batch, 3, height, width)")]
fn forward_panics_with_the_same_readable_message() {
    let dev = Cpu::default();
    let conv = Conv2D::<f32, Cpu>::new(&dev, Conv2DConfig::new(3, 4, 3)).unwrap();
    let _ = conv.forward(dev.zeros_like(&(1, 2, 8, 8)));
}

#[test]
fn impossible_sizes_are_errors_not_panics() {
    let dev = Cpu::default();
    let e = Conv2D::<f32, Cpu>::new(&dev, Conv2DConfig::new(1, 2, 0)).unwrap_err();
    assert_eq!(e.to_string(), "Conv2D: kernel_size and stride must be at least 1");
    let e = Cnn::<f32, Cpu>::with_sizes(&dev, 1, 8, 10).unwrap_err();
    assert!(
        e.to_string().starts_with("Cnn: images must be at least 10×10"),
        "{e}"
    );
}

/// The CNN's tape-free path (`Cnn::infer`, what serving runs) against dfdx's generic ops
/// (gather-based im2col, `relu`, `max` over windows), in f64, on the book's sizes and on
/// odd ones where the 2×2 pools drop a last row and column; random biases, so a bias added
/// after the pool or a ReLU before the bias would show.
#[test]
fn cnn_inference_path_matches_the_generic_forward() {
    use common::assert_close;
    let dev = Cpu::seed_from_u64(11);
    for (channels, side, classes, batch) in [(1, 28, 10, 3), (3, 17, 4, 2), (2, 12, 3, 1)] {
        let mut cnn = Cnn::<f64, Cpu>::with_sizes(&dev, channels, side, classes).unwrap();
        cnn.conv_1.bias = dev.tensor_from_vec(random_vec(32, 1), (32,));
        cnn.conv_2.bias = dev.tensor_from_vec(random_vec(64, 2), (64,));
        cnn.dense.bias = dev.tensor_from_vec(random_vec(classes, 3), (classes,));
        let images = random_vec(batch * channels * side * side, side as u64);
        let x = dev.tensor_from_vec(images.clone(), (batch, channels, side, side));
        ferrolab::nn::kernels::set_fast_kernels(false);
        let want = cnn.forward(x).as_vec();
        ferrolab::nn::kernels::set_fast_kernels(true);
        let got = cnn.infer(&images, batch).unwrap();
        assert_close(&got, &want, 1e-10, &format!("{channels}×{side}×{side}"));
    }
    // f32 and the AVX-512 GEMM: against the taped CPU kernels.
    let cnn = Cnn::<f32, Cpu>::new(&dev);
    let images = floats(5 * 784, 9);
    let want = cnn
        .forward(dev.tensor_from_vec(images.clone(), (5, 1, 28, 28)))
        .as_vec();
    let got = cnn.infer(&images, 5).unwrap();
    let widen = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    assert_close(&widen(&got), &widen(&want), 1e-4, "f32");
    let err = cnn.infer(&images[1..], 5).unwrap_err().to_string();
    assert_eq!(
        err,
        "Cnn: expected input 5 images of (1, 28, 28), 3920 values, got shape (3919)"
    );
}
