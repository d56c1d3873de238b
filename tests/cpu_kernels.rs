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
fn same_both_ways<M, S, O>(what: &str, model: &M, shape: S, params: &[&dyn Fn(&M, &Gradients<f64, Cpu>) -> Vec<f64>])
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
        assert_close(&get(model, &g_fast), &get(model, &g_ref), 1e-10, &format!("{what}: parameter {i} gradient"));
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
        let mut conv = Conv2D::<f64, Cpu>::new(&dev, Conv2DConfig::new(c, o, k).stride(s).padding(p));
        conv.bias.copy_from(&random_vec(o, 3));
        let what = format!("Conv2D c{c} o{o} k{k} s{s} p{p} {shape:?}");
        same_both_ways(
            &what,
            &conv,
            shape,
            &[&|m: &Conv2D<f64, Cpu>, g| g.get(&m.weight).as_vec(), &|m: &Conv2D<f64, Cpu>, g| g.get(&m.bias).as_vec()],
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
    [g.get(&gate.w).as_vec(), g.get(&gate.u).as_vec(), g.get(&gate.b).as_vec()].concat()
}

#[test]
fn simple_rnn_matches_generic_path() {
    let dev = Cpu::seed_from_u64(2);
    for (f, h, shape) in [(3, 4, (2, 5, 3)), (1, 3, (5, 1, 1)), (4, 2, (7, 3, 4))] {
        let mut seq = SimpleRnn::<f64, Cpu, Sequences>::new(&dev, f, h);
        seq.cell.b.copy_from(&random_vec(h, 4));
        same_both_ways(&format!("SimpleRnn seq {shape:?}"), &seq, shape, &[&|m: &SimpleRnn<f64, Cpu, Sequences>, g| {
            gate_grads(&m.cell, g)
        }]);
        let last = SimpleRnn::<f64, Cpu, LastState>::new(&dev, f, h);
        same_both_ways(&format!("SimpleRnn last {shape:?}"), &last, shape, &[&|m: &SimpleRnn<f64, Cpu, LastState>, g| {
            gate_grads(&m.cell, g)
        }]);
    }
}

#[test]
fn lstm_matches_generic_path() {
    let dev = Cpu::seed_from_u64(3);
    for (f, h, shape) in [(3, 2, (2, 4, 3)), (2, 5, (3, 1, 2)), (5, 3, (5, 6, 5))] {
        let seq = Lstm::<f64, Cpu, Sequences>::new(&dev, f, h);
        same_both_ways(&format!("Lstm seq {shape:?}"), &seq, shape, &[&|m: &Lstm<f64, Cpu, Sequences>, g| {
            [&m.input_gate, &m.forget_gate, &m.cell_gate, &m.output_gate].iter().flat_map(|gate| gate_grads(gate, g)).collect()
        }]);
        let last = Lstm::<f64, Cpu, LastState>::new(&dev, f, h);
        same_both_ways(&format!("Lstm last {shape:?}"), &last, shape, &[&|m: &Lstm<f64, Cpu, LastState>, g| {
            [&m.input_gate, &m.forget_gate, &m.cell_gate, &m.output_gate].iter().flat_map(|gate| gate_grads(gate, g)).collect()
        }]);
    }
}

#[test]
fn cnn_and_stacked_lstm_match_generic_path() {
    let dev = Cpu::seed_from_u64(5);
    let cnn = Cnn::<f64, Cpu>::with_sizes(&dev, 1, 12, 3);
    same_both_ways("Cnn 12×12", &cnn, (3, 1, 12, 12), &[&|m: &Cnn<f64, Cpu>, g| {
        [g.get(&m.conv_1.weight).as_vec(), g.get(&m.conv_2.weight).as_vec(), g.get(&m.dense.weight).as_vec()].concat()
    }]);
    let lstm = StackedLstm::<f64, Cpu>::with_sizes(&dev, 6, 3, 4, 2);
    same_both_ways("StackedLstm", &lstm, (3, 6, 3), &[&|m: &StackedLstm<f64, Cpu>, g| {
        [g.get(&m.lstm_1.forget_gate.u).as_vec(), g.get(&m.lstm_2.cell_gate.w).as_vec()].concat()
    }]);
}
