//! The CPU kernels (`nn::kernels`) give the same outputs and gradients as the layers' generic
//! dfdx path, over sizes chosen to hit their edge cases: stride, padding wider than the
//! kernel's reach, odd and non-square images, one-step and one-row sequences, batch sizes
//! that do not split evenly over the worker threads.
//!
//! The generic path is itself checked against plain loops (`layer_formulas.rs`) and finite
//! differences (`layer_gradients.rs`, which on `Cpu` now run the kernels too), so agreement
//! here pins the kernels to the book's formulas for every configuration listed.

mod common;

use common::{assert_close, random_vec};
use ferrolab::nn::kernels::set_fast_kernels;
use ferrolab::prelude::*;

type Tape64 = OwnedTape<f64, Cpu>;
/// Reads some parameter gradients of a model, flattened.
type ParamGrads<'a, M> = &'a dyn Fn(&M, &Gradients<f64, Cpu>) -> Vec<f64>;

/// Output, input gradient and all gradients of `Σ y ⊙ R`, on the fast or the generic path.
fn run<M, S, O>(model: &M, x: &[f64], shape: S, fast: bool) -> (Vec<f64>, Vec<f64>, Gradients<f64, Cpu>)
where
    S: Shape,
    O: Shape,
    M: Module<Tensor<S, f64, Cpu, Tape64>, Output = Tensor<O, f64, Cpu, Tape64>>,
{
    set_fast_kernels(fast);
    let dev = Cpu::default();
    let x = dev.tensor_from_vec(x.to_vec(), shape);
    let y = model.forward(x.clone().traced(Gradients::leaky()));
    let y_values = y.as_vec();
    let r = dev.tensor_from_vec(random_vec(y_values.len(), 99), *y.shape());
    let grads = (y * r).sum().backward();
    set_fast_kernels(true);
    (y_values, grads.get(&x).as_vec(), grads)
}

/// Runs `model` both ways and compares output, input gradient and every parameter gradient.
fn same_both_ways<M, S, O>(what: &str, model: &M, shape: S, params: &[ParamGrads<M>])
where
    S: Shape,
    O: Shape,
    M: Module<Tensor<S, f64, Cpu, Tape64>, Output = Tensor<O, f64, Cpu, Tape64>>,
{
    let x = random_vec(shape.num_elements(), 7);
    let (y_fast, dx_fast, g_fast) = run(model, &x, shape, true);
    let (y_ref, dx_ref, g_ref) = run(model, &x, shape, false);
    assert_close(&y_fast, &y_ref, 1e-10, &format!("{what}: output"));
    assert_close(&dx_fast, &dx_ref, 1e-10, &format!("{what}: input gradient"));
    for (i, get) in params.iter().enumerate() {
        assert_close(
            &get(model, &g_fast),
            &get(model, &g_ref),
            1e-10,
            &format!("{what}: parameter {i} gradient"),
        );
    }
}

#[test]
fn conv2d_matches_generic_path() {
    let dev = Cpu::seed_from_u64(1);
    // (in, out, k, stride, padding, input shape)
    let cases = [
        (1, 4, 3, 1, 0, (3, 1, 7, 6)),
        (2, 3, 3, 2, 1, (2, 2, 5, 4)),
        (3, 2, 2, 3, 2, (5, 3, 7, 9)),
        (2, 5, 5, 1, 2, (1, 2, 5, 5)),
        (4, 3, 1, 2, 0, (3, 4, 6, 5)),
        (2, 2, 3, 1, 3, (2, 2, 3, 4)),
    ];
    for (c, o, k, s, p, shape) in cases {
        let mut conv =
            Conv2D::<f64, Cpu>::new(&dev, Conv2DConfig::new(c, o, k).stride(s).padding(p)).unwrap();
        conv.bias.copy_from(&random_vec(o, 3));
        let what = format!("Conv2D c{c} o{o} k{k} s{s} p{p} {shape:?}");
        same_both_ways(
            &what,
            &conv,
            shape,
            &[
                &|m: &Conv2D<f64, Cpu>, g| g.get(&m.weight).as_vec(),
                &|m: &Conv2D<f64, Cpu>, g| g.get(&m.bias).as_vec(),
            ],
        );
    }
}

#[test]
fn pooling_matches_generic_path() {
    let shapes = [(2, 3, 6, 6), (3, 2, 7, 5), (1, 1, 2, 2)];
    for shape in shapes {
        same_both_ways(&format!("MaxPool2D<2> {shape:?}"), &MaxPool2D::<2>, shape, &[]);
        same_both_ways(&format!("AvgPool2D<2> {shape:?}"), &AvgPool2D::<2>, shape, &[]);
    }
    same_both_ways("MaxPool2D<3, 1>", &MaxPool2D::<3, 1>, (2, 2, 5, 6), &[]);
    same_both_ways("AvgPool2D<3, 2>", &AvgPool2D::<3, 2>, (2, 2, 7, 6), &[]);
}

fn gate_grads(gate: &ferrolab::nn::rnn::Gate<f64, Cpu>, g: &Gradients<f64, Cpu>) -> Vec<f64> {
    [
        g.get(&gate.w).as_vec(),
        g.get(&gate.u).as_vec(),
        g.get(&gate.b).as_vec(),
    ]
    .concat()
}

#[test]
fn simple_rnn_matches_generic_path() {
    let dev = Cpu::seed_from_u64(2);
    for (f, h, shape) in [(3, 4, (2, 5, 3)), (1, 3, (5, 1, 1)), (4, 2, (7, 3, 4))] {
        let mut seq = SimpleRnn::<f64, Cpu, Sequences>::new(&dev, f, h);
        seq.gate.b.copy_from(&random_vec(h, 4));
        same_both_ways(
            &format!("SimpleRnn seq {shape:?}"),
            &seq,
            shape,
            &[&|m: &SimpleRnn<f64, Cpu, Sequences>, g| gate_grads(&m.gate, g)],
        );
        let last = SimpleRnn::<f64, Cpu, LastState>::new(&dev, f, h);
        same_both_ways(
            &format!("SimpleRnn last {shape:?}"),
            &last,
            shape,
            &[&|m: &SimpleRnn<f64, Cpu, LastState>, g| gate_grads(&m.gate, g)],
        );
    }
}

#[test]
fn lstm_matches_generic_path() {
    let dev = Cpu::seed_from_u64(3);
    for (f, h, shape) in [(3, 2, (2, 4, 3)), (2, 5, (3, 1, 2)), (5, 3, (5, 6, 5))] {
        let seq = Lstm::<f64, Cpu, Sequences>::new(&dev, f, h);
        same_both_ways(
            &format!("Lstm seq {shape:?}"),
            &seq,
            shape,
            &[&|m: &Lstm<f64, Cpu, Sequences>, g| {
                [&m.input_gate, &m.forget_gate, &m.cell_gate, &m.output_gate]
                    .iter()
                    .flat_map(|gate| gate_grads(gate, g))
                    .collect()
            }],
        );
        let last = Lstm::<f64, Cpu, LastState>::new(&dev, f, h);
        same_both_ways(
            &format!("Lstm last {shape:?}"),
            &last,
            shape,
            &[&|m: &Lstm<f64, Cpu, LastState>, g| {
                [&m.input_gate, &m.forget_gate, &m.cell_gate, &m.output_gate]
                    .iter()
                    .flat_map(|gate| gate_grads(gate, g))
                    .collect()
            }],
        );
    }
}

#[test]
fn cnn_and_stacked_lstm_match_generic_path() {
    let dev = Cpu::seed_from_u64(5);
    let cnn = Cnn::<f64, Cpu>::with_sizes(&dev, 1, 12, 3).unwrap();
    same_both_ways(
        "Cnn 12×12",
        &cnn,
        (3, 1, 12, 12),
        &[&|m: &Cnn<f64, Cpu>, g| {
            [
                g.get(&m.conv_1.weight).as_vec(),
                g.get(&m.conv_2.weight).as_vec(),
                g.get(&m.dense.weight).as_vec(),
            ]
            .concat()
        }],
    );
    let lstm = StackedLstm::<f64, Cpu>::with_sizes(&dev, 6, 3, 4, 2);
    same_both_ways(
        "StackedLstm",
        &lstm,
        (3, 6, 3),
        &[&|m: &StackedLstm<f64, Cpu>, g| {
            [
                g.get(&m.lstm_1.forget_gate.u).as_vec(),
                g.get(&m.lstm_2.cell_gate.w).as_vec(),
            ]
            .concat()
        }],
    );
}

#[test]
fn dense_layer_norm_and_encoder_match_generic_path() {
    let dev = Cpu::seed_from_u64(6);
    let mut dense = Dense::<f64, Cpu>::new(&dev, 5, 3);
    dense.bias.copy_from(&random_vec(3, 8));
    let dense_grads: ParamGrads<Dense<f64, Cpu>> =
        &|m, g| [g.get(&m.weight).as_vec(), g.get(&m.bias).as_vec()].concat();
    same_both_ways::<_, Dyn2, Dyn2>("Dense 2-D", &dense, (4, 5), &[dense_grads]);
    same_both_ways::<_, Dyn3, Dyn3>("Dense 3-D", &dense, (2, 3, 5), &[dense_grads]);

    let mut norm = LayerNorm::<f64, Cpu>::new(&dev, 6, 1e-5);
    norm.gamma.copy_from(&random_vec(6, 9));
    norm.beta.copy_from(&random_vec(6, 10));
    let norm_grads: ParamGrads<LayerNorm<f64, Cpu>> =
        &|m, g| [g.get(&m.gamma).as_vec(), g.get(&m.beta).as_vec()].concat();
    same_both_ways::<_, Dyn2, Dyn2>("LayerNorm 2-D", &norm, (3, 6), &[norm_grads]);
    same_both_ways::<_, Dyn3, Dyn3>("LayerNorm 3-D", &norm, (2, 5, 6), &[norm_grads]);

    for activation in [Activation::Relu, Activation::Gelu] {
        // ReLU's feed-forward network is one kernel; GELU's is two Dense kernels around `gelu`.
        let mut ff = FeedForward::<f64, Cpu>::new(&dev, 6, 10, activation);
        ff.w_1.bias.copy_from(&random_vec(10, 11));
        ff.w_2.bias.copy_from(&random_vec(6, 12));
        same_both_ways(
            &format!("FeedForward {activation:?}"),
            &ff,
            (3, 5, 6),
            &[&|m: &FeedForward<f64, Cpu>, g| {
                [&m.w_1, &m.w_2]
                    .iter()
                    .flat_map(|l| [g.get(&l.weight).as_vec(), g.get(&l.bias).as_vec()])
                    .collect::<Vec<_>>()
                    .concat()
            }],
        );

        let cfg = EncoderConfig {
            d_model: 8,
            heads: 2,
            d_ff: 12,
            activation,
            ..Default::default()
        };
        let mut block = EncoderBlock::<f64, Cpu>::new(&dev, cfg).unwrap();
        block.attention.w_k.bias.copy_from(&random_vec(8, 13));
        block.norm_1.beta.copy_from(&random_vec(8, 14));
        same_both_ways(
            &format!("EncoderBlock {activation:?}"),
            &block,
            (3, 5, 8),
            &[&|m: &EncoderBlock<f64, Cpu>, g| {
                let a = &m.attention;
                let ff = &m.feed_forward;
                [&a.w_q, &a.w_k, &a.w_v, &a.w_o, &ff.w_1, &ff.w_2]
                    .iter()
                    .flat_map(|l| [g.get(&l.weight).as_vec(), g.get(&l.bias).as_vec()])
                    .chain(
                        [&m.norm_1, &m.norm_2]
                            .iter()
                            .flat_map(|n| [g.get(&n.gamma).as_vec(), g.get(&n.beta).as_vec()]),
                    )
                    .collect::<Vec<_>>()
                    .concat()
            }],
        );
    }
}

/// Attention with a key mask, 7 queries against 7 keys, on both paths: output, weights and
/// the gradients of Q, K and V.
#[test]
fn masked_attention_matches_generic_path() {
    let dev = Cpu::default();
    let shape = (2, 3, 7, 4);
    let mut mask = vec![0.0; 2 * 7];
    mask[5] = -1e9; // batch 0 ignores key 5
    mask[7 + 1] = -1e9; // batch 1 ignores key 1
    let mask = dev.tensor_from_vec(mask, (2, 7));
    let run = |fast: bool| {
        set_fast_kernels(fast);
        let [q, k, v] = [11, 12, 13].map(|s| dev.tensor_from_vec(random_vec(2 * 3 * 7 * 4, s), shape));
        let grads = Gradients::leaky();
        let (out, weights) = scaled_dot_product_attention(
            q.clone().traced(grads),
            k.clone().retaped::<Tape64>(),
            v.clone().retaped::<Tape64>(),
            Some(&mask),
        );
        let out_values = out.as_vec();
        let r = dev.tensor_from_vec(random_vec(out_values.len(), 14), *out.shape());
        let grads = (out * r).sum().backward();
        set_fast_kernels(true);
        let g = |t: &Tensor<Dyn4, f64, Cpu>| grads.get(t).as_vec();
        (out_values, weights.as_vec(), [g(&q), g(&k), g(&v)].concat())
    };
    let (fast, generic) = (run(true), run(false));
    assert_close(&fast.0, &generic.0, 1e-10, "attention output");
    assert_close(&fast.1, &generic.1, 1e-10, "attention weights");
    assert_close(&fast.2, &generic.2, 1e-10, "dQ, dK, dV");
}

/// Multi-head attention with a key mask (the kernel computes Q, K, V in one GEMM and reads the
/// heads by stride): output, weights, the input's and every projection's gradient agree with
/// the generic split-permute-concat path.
#[test]
fn masked_multi_head_attention_matches_generic_path() {
    let dev = Cpu::seed_from_u64(7);
    let mha = MultiHeadAttention::<f64, Cpu>::new(&dev, 6, 3).unwrap();
    let mut mask = vec![0.0; 2 * 5];
    mask[3] = -1e9;
    mask[5 + 4] = -1e9;
    let mask = dev.tensor_from_vec(mask, (2, 5));
    let run = |fast: bool| {
        set_fast_kernels(fast);
        let x = dev.tensor_from_vec(random_vec(2 * 5 * 6, 21), (2, 5, 6));
        let (y, weights) = mha
            .forward_with_weights(x.clone().traced(Gradients::leaky()), Some(&mask))
            .unwrap();
        let y_values = y.as_vec();
        let r = dev.tensor_from_vec(random_vec(y_values.len(), 22), *y.shape());
        let grads = (y * r).sum().backward();
        // Without the weights (how training calls it), the output is the same.
        let (unmasked, _) = mha.forward_with_weights(x.clone(), None).unwrap();
        let plain = mha.forward(x.clone());
        assert_eq!(
            plain.as_vec(),
            unmasked.as_vec(),
            "MHA output with and without the weights"
        );
        set_fast_kernels(true);
        let g = |t: &Tensor<Dyn2, f64, Cpu>| grads.get(t).as_vec();
        let g1 = |t: &Tensor<Dyn1, f64, Cpu>| grads.get(t).as_vec();
        let params = [&mha.w_q, &mha.w_k, &mha.w_v, &mha.w_o];
        let dw: Vec<f64> = params
            .iter()
            .flat_map(|l| [g(&l.weight), g1(&l.bias)])
            .flatten()
            .collect();
        (y_values, weights.as_vec(), [grads.get(&x).as_vec(), dw].concat())
    };
    let (fast, generic) = (run(true), run(false));
    assert_close(&fast.0, &generic.0, 1e-10, "MHA output");
    assert_close(&fast.1, &generic.1, 1e-10, "MHA weights");
    assert_close(&fast.2, &generic.2, 1e-10, "MHA dx and every parameter gradient");
}

/// The kernels split work by the pool's size (batch blocks per worker, GEMMs run side by side
/// with `rayon::join`), so the comparisons above are repeated in pools of one and of three
/// workers: the split must not change any result. Includes 2×2 max pooling on odd sizes,
/// whose fast path walks the rows in pairs.
#[test]
fn kernels_match_generic_path_on_any_thread_count() {
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            pooling_matches_generic_path();
            same_both_ways("MaxPool2D<2> 9×11", &MaxPool2D::<2>, (2, 3, 9, 11), &[]);
            lstm_matches_generic_path();
            cnn_and_stacked_lstm_match_generic_path();
            dense_layer_norm_and_encoder_match_generic_path();
            masked_attention_matches_generic_path();
            masked_multi_head_attention_matches_generic_path();
        });
    }
}

/// The fused feed-forward kernel checks shapes like the two layers it replaces: a wrong
/// input width is an error that names the layer's expectation, not a panic.
#[test]
fn feed_forward_kernel_rejects_a_wrong_width() {
    let dev = Cpu::default();
    let ff = FeedForward::<f32, Cpu>::new(&dev, 6, 10, Activation::Relu);
    let x: Tensor<Dyn3, f32, Cpu> = dev.zeros_like(&(2, 3, 5));
    let err = ff.try_forward(x).expect_err("width 5 into a layer of 6 inputs");
    assert!(err.to_string().contains('6'), "{err}");
}
