//! Gradients from dfdx's tape through our layers equal central finite differences (f64)
//! for every parameter and the input of Conv2D, pooling, RNN, LSTM and attention.
//!
//! The loss is `Σ y ⊙ R` for a fixed random `R`, so every output element carries a different
//! weight and a wrong index anywhere in a backward pass shows.

mod common;

use common::random_vec;
use ferrolab::prelude::*;

const EPS: f64 = 1e-6;
const TOL: f64 = 1e-6;

/// Everything a layer test needs: the layer, an input, and the weights `R` of the loss.
struct Case<M, S: Shape> {
    model: M,
    x: Vec<f64>,
    x_shape: S,
    r: Vec<f64>,
}

impl<M, S, Out> Case<M, S>
where
    S: Shape,
    M: TensorCollection<f64, Cpu>
        + Module<Tensor<S, f64, Cpu, OwnedTape<f64, Cpu>>, Output = Tensor<Out, f64, Cpu, OwnedTape<f64, Cpu>>>
        + Module<Tensor<S, f64, Cpu>, Output = Tensor<Out, f64, Cpu>>,
    Out: Shape,
{
    fn loss(&self, x: &[f64]) -> f64 {
        let dev = Cpu::default();
        let y = self.model.forward(dev.tensor_from_vec(x.to_vec(), self.x_shape));
        y.as_vec().iter().zip(&self.r).map(|(a, b)| a * b).sum()
    }

    /// dfdx's gradients: of every parameter (by the model's own tensors) and of the input.
    fn backward(&self) -> (Gradients<f64, Cpu>, Tensor<S, f64, Cpu>) {
        let dev = Cpu::default();
        let x = dev.tensor_from_vec(self.x.clone(), self.x_shape);
        // Leaky gradients keep the input's gradient too, not only the parameters'.
        let y = self.model.forward(x.clone().traced(Gradients::leaky()));
        let r = dev.tensor_from_vec(self.r.clone(), *y.shape());
        ((y * r).sum().backward(), x)
    }

    fn check_input(&self, name: &str) {
        let (grads, x) = self.backward();
        let analytic = grads.get(&x).as_vec();
        let mut x = self.x.clone();
        for i in 0..x.len() {
            let v = x[i];
            x[i] = v + EPS;
            let up = self.loss(&x);
            x[i] = v - EPS;
            let down = self.loss(&x);
            x[i] = v;
            compare(name, "input", i, (up - down) / (2.0 * EPS), analytic[i]);
        }
    }

    fn check_param<P: Shape>(
        &mut self,
        name: &str,
        param: &str,
        get: fn(&mut M) -> &mut Tensor<P, f64, Cpu>,
    ) {
        let (grads, _) = self.backward();
        let analytic = grads.get(get(&mut self.model)).as_vec();
        let mut values = get(&mut self.model).as_vec();
        assert!(
            analytic.iter().any(|g| g.abs() > 1e-9),
            "{name}.{param}: gradient is all zero"
        );
        for i in 0..values.len() {
            let v = values[i];
            values[i] = v + EPS;
            get(&mut self.model).copy_from(&values);
            let up = self.loss(&self.x);
            values[i] = v - EPS;
            get(&mut self.model).copy_from(&values);
            let down = self.loss(&self.x);
            values[i] = v;
            get(&mut self.model).copy_from(&values);
            compare(name, param, i, (up - down) / (2.0 * EPS), analytic[i]);
        }
    }
}

fn compare(name: &str, what: &str, i: usize, numeric: f64, analytic: f64) {
    assert!(
        (numeric - analytic).abs() <= TOL * (1.0 + numeric.abs()),
        "{name}: d loss / d {what}[{i}]: finite difference {numeric}, tape {analytic}"
    );
}

fn case<M, S: Shape>(model: M, x_shape: S, out_len: usize, seed: u64) -> Case<M, S> {
    let n = x_shape.num_elements();
    Case {
        model,
        x: random_vec(n, seed),
        x_shape,
        r: random_vec(out_len, seed + 1),
    }
}

fn randomise<S: Shape>(t: &mut Tensor<S, f64, Cpu>, seed: u64) {
    t.copy_from(&random_vec(t.shape().num_elements(), seed));
}

#[test]
fn conv2d_gradients() {
    let dev = Cpu::seed_from_u64(1);
    let mut conv = Conv2D::<f64, Cpu>::new(&dev, Conv2DConfig::new(2, 3, 3).stride(2).padding(1)).unwrap();
    randomise(&mut conv.bias, 5);
    let mut c = case(conv, (2, 2, 5, 4), 2 * 3 * 3 * 2, 10);
    c.check_input("Conv2D");
    c.check_param("Conv2D", "weight", |m| &mut m.weight);
    c.check_param("Conv2D", "bias", |m| &mut m.bias);
}

#[test]
fn pooling_gradients() {
    case(MaxPool2D::<2>, (2, 2, 5, 4), 2 * 2 * 2 * 2, 20).check_input("MaxPool2D");
    case(MaxPool2D::<3, 1>, (1, 2, 5, 5), 2 * 3 * 3, 21).check_input("MaxPool2D stride 1");
    case(AvgPool2D::<2>, (2, 2, 5, 4), 2 * 2 * 2 * 2, 22).check_input("AvgPool2D");
}

#[test]
fn simple_rnn_gradients() {
    let dev = Cpu::seed_from_u64(3);
    let mut c = case(
        SimpleRnn::<f64, Cpu, Sequences>::new(&dev, 3, 4),
        (2, 4, 3),
        2 * 4 * 4,
        30,
    );
    c.check_input("SimpleRnn");
    c.check_param("SimpleRnn", "W", |m| &mut m.gate.w);
    c.check_param("SimpleRnn", "U", |m| &mut m.gate.u);
    c.check_param("SimpleRnn", "b", |m| &mut m.gate.b);

    let mut last = case(
        SimpleRnn::<f64, Cpu, LastState>::new(&dev, 3, 4),
        (2, 4, 3),
        2 * 4,
        31,
    );
    last.check_input("SimpleRnn last");
    last.check_param("SimpleRnn last", "U", |m| &mut m.gate.u);
}

#[test]
fn lstm_gradients() {
    let dev = Cpu::seed_from_u64(4);
    let mut c = case(
        Lstm::<f64, Cpu, Sequences>::new(&dev, 3, 2),
        (2, 4, 3),
        2 * 4 * 2,
        40,
    );
    c.check_input("Lstm");
    c.check_param("Lstm", "input_gate.w", |m| &mut m.input_gate.w);
    c.check_param("Lstm", "input_gate.u", |m| &mut m.input_gate.u);
    c.check_param("Lstm", "input_gate.b", |m| &mut m.input_gate.b);
    c.check_param("Lstm", "forget_gate.w", |m| &mut m.forget_gate.w);
    c.check_param("Lstm", "forget_gate.u", |m| &mut m.forget_gate.u);
    c.check_param("Lstm", "forget_gate.b", |m| &mut m.forget_gate.b);
    c.check_param("Lstm", "cell_gate.w", |m| &mut m.cell_gate.w);
    c.check_param("Lstm", "cell_gate.u", |m| &mut m.cell_gate.u);
    c.check_param("Lstm", "cell_gate.b", |m| &mut m.cell_gate.b);
    c.check_param("Lstm", "output_gate.w", |m| &mut m.output_gate.w);
    c.check_param("Lstm", "output_gate.u", |m| &mut m.output_gate.u);
    c.check_param("Lstm", "output_gate.b", |m| &mut m.output_gate.b);

    let mut last = case(Lstm::<f64, Cpu, LastState>::new(&dev, 3, 2), (2, 5, 3), 2 * 2, 41);
    last.check_input("Lstm last");
    last.check_param("Lstm last", "forget_gate.u", |m| &mut m.forget_gate.u);
}

#[test]
fn attention_gradients() {
    let dev = Cpu::seed_from_u64(5);
    let mut mha = MultiHeadAttention::<f64, Cpu>::new(&dev, 4, 2).unwrap();
    for (i, p) in [&mut mha.w_q, &mut mha.w_k, &mut mha.w_v, &mut mha.w_o]
        .into_iter()
        .enumerate()
    {
        randomise(&mut p.bias, 50 + i as u64);
    }
    let mut c = case(mha, (2, 3, 4), 2 * 3 * 4, 50);
    c.check_input("MultiHeadAttention");
    c.check_param("MultiHeadAttention", "W_Q", |m| &mut m.w_q.weight);
    c.check_param("MultiHeadAttention", "W_K", |m| &mut m.w_k.weight);
    c.check_param("MultiHeadAttention", "W_V", |m| &mut m.w_v.weight);
    c.check_param("MultiHeadAttention", "W_O", |m| &mut m.w_o.weight);
    c.check_param("MultiHeadAttention", "b_Q", |m| &mut m.w_q.bias);
    c.check_param("MultiHeadAttention", "b_V", |m| &mut m.w_v.bias);
    c.check_param("MultiHeadAttention", "b_O", |m| &mut m.w_o.bias);
}

#[test]
fn encoder_block_gradients() {
    for activation in [Activation::Relu, Activation::Gelu] {
        let dev = Cpu::seed_from_u64(6);
        let cfg = EncoderConfig {
            d_model: 4,
            heads: 2,
            d_ff: 6,
            activation,
            layer_norm_eps: 1e-5,
        };
        let mut block = EncoderBlock::<f64, Cpu>::new(&dev, cfg).unwrap();
        randomise(&mut block.norm_1.beta, 60);
        randomise(&mut block.feed_forward.w_1.bias, 61);
        let name = format!("EncoderBlock {activation:?}");
        let mut c = case(block, (2, 3, 4), 2 * 3 * 4, 60);
        c.check_input(&name);
        c.check_param(&name, "attention.W_Q", |m| &mut m.attention.w_q.weight);
        c.check_param(&name, "attention.W_K", |m| &mut m.attention.w_k.weight);
        c.check_param(&name, "attention.b_V", |m| &mut m.attention.w_v.bias);
        c.check_param(&name, "norm_1.gamma", |m| &mut m.norm_1.gamma);
        c.check_param(&name, "feed_forward.W_1", |m| &mut m.feed_forward.w_1.weight);
        c.check_param(&name, "feed_forward.b_1", |m| &mut m.feed_forward.w_1.bias);
        c.check_param(&name, "feed_forward.W_2", |m| &mut m.feed_forward.w_2.weight);
        c.check_param(&name, "norm_2.beta", |m| &mut m.norm_2.beta);
    }
}

/// GELU on its own: value `½x(1 + erf(x/√2))` and a gradient that matches finite differences
/// (dfdx 0.13's own `accurate_gelu` derivative is off by `x·e^{−x²/2}(1/√π − 1/√(2π))`).
#[test]
fn gelu_value_and_gradient() {
    let dev = Cpu::default();
    let xs = random_vec(50, 80)
        .into_iter()
        .map(|v| v * 4.0)
        .collect::<Vec<_>>();
    let x = dev.tensor_from_vec(xs.clone(), (50,));
    let y = ferrolab::nn::gelu(x.clone().traced(Gradients::leaky()));
    common::assert_close(
        &y.as_vec(),
        &xs.iter().map(|&v| common::gelu(v)).collect::<Vec<_>>(),
        1e-12,
        "gelu",
    );
    let grads = y.sum().backward();
    for (i, (&v, g)) in xs.iter().zip(grads.get(&x).as_vec()).enumerate() {
        let numeric = (common::gelu(v + EPS) - common::gelu(v - EPS)) / (2.0 * EPS);
        compare("gelu", "x", i, numeric, g);
    }
}

#[test]
fn feed_forward_and_layer_norm_gradients() {
    let dev = Cpu::seed_from_u64(7);
    let mut ln = LayerNorm::<f64, Cpu>::new(&dev, 4, 1e-5);
    randomise(&mut ln.gamma, 70);
    let mut c = case(ln, (2, 3, 4), 24, 70);
    c.check_input("LayerNorm");
    c.check_param("LayerNorm", "gamma", |m| &mut m.gamma);
    c.check_param("LayerNorm", "beta", |m| &mut m.beta);
    for act in [Activation::Relu, Activation::Gelu] {
        let mut c = case(FeedForward::<f64, Cpu>::new(&dev, 4, 6, act), (2, 3, 4), 24, 71);
        c.check_input("FeedForward");
        c.check_param("FeedForward", "W_1", |m| &mut m.w_1.weight);
        c.check_param("FeedForward", "b_1", |m| &mut m.w_1.bias);
        c.check_param("FeedForward", "W_2", |m| &mut m.w_2.weight);
        c.check_param("FeedForward", "b_2", |m| &mut m.w_2.bias);
    }
}
