//! Each layer's forward equals an independent loop implementation of the book's formula
//! (tests/common), to 1e-6 in f64 on random inputs and odd sizes; f32 agrees to 1e-4.

mod common;

use common::*;
use ferrolab::nn::rnn::Gate;
use ferrolab::prelude::*;

fn gate_params(g: &Gate<f64, Cpu>) -> GateParams {
    GateParams {
        w: g.w.as_vec(),
        u: g.u.as_vec(),
        b: g.b.as_vec(),
    }
}

fn gates<O>(l: &Lstm<f64, Cpu, O>) -> [GateParams; 4] {
    [&l.input_gate, &l.forget_gate, &l.cell_gate, &l.output_gate].map(gate_params)
}

fn dense_params(d: &Dense<f64, Cpu>) -> DenseParams {
    DenseParams {
        w: d.weight.as_vec(),
        b: d.bias.as_vec(),
    }
}

/// Gives a layer's zero-initialised biases random values, so the formula's `+ b` is tested.
fn randomise<S: Shape>(t: &mut Tensor<S, f64, Cpu>, seed: u64) {
    let n = t.shape().num_elements();
    t.copy_from(&random_vec(n, seed));
}

#[test]
fn conv2d_matches_formula_with_stride_padding_and_odd_sizes() {
    let dev = Cpu::seed_from_u64(1);
    for (i, &(c, o, k, s, p, h, w)) in [
        (1, 2, 3, 1, 0, 7, 7),
        (3, 4, 3, 2, 1, 7, 6),
        (2, 3, 2, 1, 2, 5, 4),
        (2, 1, 5, 3, 0, 11, 9),
    ]
    .iter()
    .enumerate()
    {
        let mut conv =
            Conv2D::<f64, Cpu>::new(&dev, Conv2DConfig::new(c, o, k).stride(s).padding(p)).unwrap();
        randomise(&mut conv.bias, 100 + i as u64);
        let dims = [2, c, h, w];
        let x = random_vec(dims.iter().product(), i as u64);
        let y = conv.forward(dev.tensor_from_vec(x.clone(), (2, c, h, w)));
        let (want, want_dims) = conv2d(&x, dims, &conv.weight.as_vec(), &conv.bias.as_vec(), [o, k, s, p]);
        assert_eq!(y.shape().concrete(), want_dims, "case {i}");
        assert_close(&y.as_vec(), &want, 1e-6, &format!("conv case {i}"));
    }
}

#[test]
fn conv2d_in_f32_agrees() {
    let dev = Cpu::seed_from_u64(2);
    let conv = Conv2D::<f32, Cpu>::new(&dev, Conv2DConfig::new(2, 3, 3).padding(1)).unwrap();
    let x = random_vec(2 * 2 * 5 * 5, 9);
    let y = conv.forward(dev.tensor_from_vec(x.iter().map(|&v| v as f32).collect(), (2, 2, 5, 5)));
    let w: Vec<f64> = conv.weight.as_vec().into_iter().map(f64::from).collect();
    let b: Vec<f64> = conv.bias.as_vec().into_iter().map(f64::from).collect();
    let (want, _) = conv2d(&x, [2, 2, 5, 5], &w, &b, [3, 3, 1, 1]);
    let got: Vec<f64> = y.as_vec().into_iter().map(f64::from).collect();
    assert_close(&got, &want, 1e-4, "f32 conv");
}

/// Pool sizes are type parameters; the test's cases pick the matching type.
fn pool_with(k: usize, s: usize, max: bool, x: Tensor<Dyn4, f64, Cpu>) -> Tensor<Dyn4, f64, Cpu> {
    match (k, s, max) {
        (2, 2, true) => MaxPool2D::<2>.forward(x),
        (3, 2, true) => MaxPool2D::<3, 2>.forward(x),
        (3, 1, true) => MaxPool2D::<3, 1>.forward(x),
        (2, 2, false) => AvgPool2D::<2>.forward(x),
        (3, 2, false) => AvgPool2D::<3, 2>.forward(x),
        (3, 1, false) => AvgPool2D::<3, 1>.forward(x),
        _ => unreachable!("add the case"),
    }
}

#[test]
fn pooling_matches_formula() {
    let dev = Cpu::seed_from_u64(3);
    for (i, &(k, s, h, w)) in [(2, 2, 6, 6), (2, 2, 7, 5), (3, 2, 7, 8), (3, 1, 5, 5)]
        .iter()
        .enumerate()
    {
        let dims = [2, 3, h, w];
        let x = random_vec(dims.iter().product(), 10 + i as u64);
        let input = || dev.tensor_from_vec(x.clone(), (2, 3, h, w));
        let max = pool_with(k, s, true, input());
        let avg = pool_with(k, s, false, input());
        let (want_max, want_dims) = pool2d(&x, dims, k, s, true);
        let (want_avg, _) = pool2d(&x, dims, k, s, false);
        assert_eq!(max.shape().concrete(), want_dims);
        assert_close(&max.as_vec(), &want_max, 1e-12, &format!("max pool case {i}"));
        assert_close(&avg.as_vec(), &want_avg, 1e-12, &format!("avg pool case {i}"));
    }
}

#[test]
fn dense_matches_formula_on_2d_and_3d_inputs() {
    let dev = Cpu::seed_from_u64(4);
    let mut layer = Dense::<f64, Cpu>::new(&dev, 5, 3);
    randomise(&mut layer.bias, 7);
    let x = random_vec(4 * 5, 1);
    let want = dense(&x, 4, &layer.weight.as_vec(), 3, &layer.bias.as_vec());
    let y2 = layer.forward(dev.tensor_from_vec(x.clone(), (4, 5)));
    let y3 = layer.forward(dev.tensor_from_vec(x, (2, 2, 5)));
    assert_close(&y2.as_vec(), &want, 1e-12, "dense 2d");
    assert_close(&y3.as_vec(), &want, 1e-12, "dense 3d");
    assert_eq!(y3.shape().concrete(), [2, 2, 3]);
}

#[test]
fn simple_rnn_matches_formula() {
    let dev = Cpu::seed_from_u64(5);
    let mut seq = SimpleRnn::<f64, Cpu, Sequences>::new(&dev, 3, 4);
    randomise(&mut seq.gate.b, 8);
    let x = random_vec(2 * 5 * 3, 2);
    let want = rnn(&x, [2, 5, 3], &gate_params(&seq.gate));
    let all = seq.forward(dev.tensor_from_vec(x.clone(), (2, 5, 3)));
    assert_eq!(all.shape().concrete(), [2, 5, 4]);
    assert_close(&all.as_vec(), &want, 1e-9, "rnn sequences");

    let mut last = SimpleRnn::<f64, Cpu, LastState>::new(&dev, 3, 4);
    last.gate = seq.gate.clone();
    let h_t = last.forward(dev.tensor_from_vec(x, (2, 5, 3)));
    let want_last: Vec<f64> = (0..2)
        .flat_map(|b| want[(b * 5 + 4) * 4..(b * 5 + 5) * 4].to_vec())
        .collect();
    assert_close(&h_t.as_vec(), &want_last, 1e-9, "rnn last state");
}

#[test]
fn lstm_matches_formula_and_stacks() {
    let dev = Cpu::seed_from_u64(6);
    let mut first = Lstm::<f64, Cpu, Sequences>::new(&dev, 3, 4);
    for (i, g) in [
        &mut first.input_gate,
        &mut first.cell_gate,
        &mut first.output_gate,
    ]
    .into_iter()
    .enumerate()
    {
        randomise(&mut g.b, 20 + i as u64);
    }
    let second = Lstm::<f64, Cpu, LastState>::new(&dev, 4, 2);
    let x = random_vec(2 * 6 * 3, 3);
    let g1 = gates(&first);
    let want_1 = lstm(&x, [2, 6, 3], [&g1[0], &g1[1], &g1[2], &g1[3]]);
    let seq = first.forward(dev.tensor_from_vec(x, (2, 6, 3)));
    assert_close(&seq.as_vec(), &want_1, 1e-9, "lstm sequences");

    let g2 = gates(&second);
    let want_2 = lstm(&want_1, [2, 6, 4], [&g2[0], &g2[1], &g2[2], &g2[3]]);
    let want_last: Vec<f64> = (0..2)
        .flat_map(|b| want_2[(b * 6 + 5) * 2..(b * 6 + 6) * 2].to_vec())
        .collect();
    let last = second.forward(seq);
    assert_eq!(last.shape().concrete(), [2, 2]);
    assert_close(&last.as_vec(), &want_last, 1e-9, "stacked lstm last state");
}

#[test]
fn scaled_dot_product_attention_matches_formula() {
    let dev = Cpu::seed_from_u64(7);
    let (s, d) = (5, 3);
    let (q, k, v) = (random_vec(s * d, 1), random_vec(s * d, 2), random_vec(s * d, 3));
    let t = |x: &Vec<f64>| dev.tensor_from_vec(x.clone(), (1, 1, s, d));
    let (out, weights) = scaled_dot_product_attention(t(&q), t(&k), t(&v), None);
    let (want_out, want_weights) = attention(&q, &k, &v, s, d, None);
    assert_close(&out.as_vec(), &want_out, 1e-12, "attention output");
    assert_close(&weights.as_vec(), &want_weights, 1e-12, "attention weights");
    for row in weights.as_vec().chunks(s) {
        assert!(
            (row.iter().sum::<f64>() - 1.0).abs() < 1e-12,
            "weights rows sum to 1"
        );
    }
}

#[test]
fn multi_head_attention_matches_formula_with_mask() {
    let dev = Cpu::seed_from_u64(8);
    let mut mha = MultiHeadAttention::<f64, Cpu>::new(&dev, 6, 3).unwrap();
    for (i, p) in [&mut mha.w_q, &mut mha.w_k, &mut mha.w_v, &mut mha.w_o]
        .into_iter()
        .enumerate()
    {
        randomise(&mut p.bias, 30 + i as u64);
    }
    let (b, s, d) = (2, 4, 6);
    let x = random_vec(b * s * d, 4);
    let mask = vec![0.0, 0.0, 0.0, -1e4, 0.0, 0.0, -1e4, -1e4];
    let params = [&mha.w_q, &mha.w_k, &mha.w_v, &mha.w_o].map(dense_params);
    let (want, want_weights) = multi_head(
        &x,
        [b, s, d],
        3,
        [&params[0], &params[1], &params[2], &params[3]],
        Some(&mask),
    );
    let (y, weights) = mha
        .forward_with_weights(
            dev.tensor_from_vec(x, (b, s, d)),
            Some(&dev.tensor_from_vec(mask, (b, s))),
        )
        .unwrap();
    assert_close(&y.as_vec(), &want, 1e-9, "multi-head output");
    assert_eq!(weights.shape().concrete(), [b, 3, s, s]);
    assert_close(&weights.as_vec(), &want_weights, 1e-9, "multi-head weights");
    assert!(weights.as_vec()[3] < 1e-6, "a masked key gets no attention");
}

#[test]
fn layer_norm_and_encoder_block_match_formula() {
    // ReLU (the original Transformer) and GELU (BERT): on `Cpu` the ReLU block's feed-forward
    // network is one kernel, the GELU one is two Dense layers around `gelu`.
    for (activation, act) in [
        (Activation::Relu, common::relu as fn(f64) -> f64),
        (Activation::Gelu, common::gelu),
    ] {
        encoder_block_matches_formula(activation, act);
    }
}

fn encoder_block_matches_formula(activation: Activation, act: fn(f64) -> f64) {
    let dev = Cpu::seed_from_u64(9);
    let cfg = EncoderConfig {
        d_model: 4,
        heads: 2,
        d_ff: 8,
        activation,
        layer_norm_eps: 1e-5,
    };
    let mut block = EncoderBlock::<f64, Cpu>::new(&dev, cfg).unwrap();
    randomise(&mut block.norm_1.gamma, 40);
    randomise(&mut block.norm_2.beta, 41);
    randomise(&mut block.feed_forward.w_1.bias, 42);
    let (b, s, d) = (2, 3, 4);
    let x = random_vec(b * s * d, 5);

    let a = &block.attention;
    let params = [&a.w_q, &a.w_k, &a.w_v, &a.w_o].map(dense_params);
    let (attn, _) = multi_head(
        &x,
        [b, s, d],
        2,
        [&params[0], &params[1], &params[2], &params[3]],
        None,
    );
    let sum: Vec<f64> = x.iter().zip(&attn).map(|(a, b)| a + b).collect();
    let n1 = &block.norm_1;
    let x1 = layer_norm(&sum, &n1.gamma.as_vec(), &n1.beta.as_vec(), 1e-5);
    let ff = &block.feed_forward;
    let hidden: Vec<f64> = dense(&x1, b * s, &ff.w_1.weight.as_vec(), 8, &ff.w_1.bias.as_vec())
        .into_iter()
        .map(act)
        .collect();
    let f = dense(&hidden, b * s, &ff.w_2.weight.as_vec(), 4, &ff.w_2.bias.as_vec());
    let sum2: Vec<f64> = x1.iter().zip(&f).map(|(a, b)| a + b).collect();
    let n2 = &block.norm_2;
    let want = layer_norm(&sum2, &n2.gamma.as_vec(), &n2.beta.as_vec(), 1e-5);

    let y = block.forward(dev.tensor_from_vec(x, (b, s, d)));
    assert_close(
        &y.as_vec(),
        &want,
        1e-9,
        &format!("encoder block, {activation:?}"),
    );
}

#[test]
fn embedding_looks_up_rows() {
    let dev = Cpu::seed_from_u64(10);
    let table = Embedding::<f64, Cpu>::new(&dev, 7, 3);
    let ids = dev.tensor_from_vec(vec![0usize, 6, 2, 2], (2, 2));
    let y = table.forward(ids);
    let w = table.weight.as_vec();
    let want: Vec<f64> = [0, 6, 2, 2]
        .iter()
        .flat_map(|&r| w[r * 3..r * 3 + 3].to_vec())
        .collect();
    assert_eq!(y.as_vec(), want);
}
