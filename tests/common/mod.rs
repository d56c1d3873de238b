//! Independent reference implementations of the book's formulas, written as plain loops over
//! `Vec<f64>` with no dfdx, and helpers shared by the layer tests.
#![allow(dead_code)]

use rand::{rngs::StdRng, Rng, SeedableRng};

pub fn random_vec(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

pub fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: got {g}, want {w}"
        );
    }
}

/// Formula 3.4.1 with channels, stride and zero padding:
/// `[o, k, s, p]` are filters, kernel size, stride and padding:
/// `y[b,o,i,j] = Σ_c Σ_m Σ_n x[b,c,i·s+m−p,j·s+n−p] · w[o,c,m,n] + bias[o]`.
pub fn conv2d(
    x: &[f64],
    [b, c, h, w]: [usize; 4],
    wt: &[f64],
    bias: &[f64],
    [o, k, s, p]: [usize; 4],
) -> (Vec<f64>, [usize; 4]) {
    let oh = (h + 2 * p - k) / s + 1;
    let ow = (w + 2 * p - k) / s + 1;
    let mut y = vec![0.0; b * o * oh * ow];
    for bi in 0..b {
        for oi in 0..o {
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = bias[oi];
                    for ci in 0..c {
                        for m in 0..k {
                            for n in 0..k {
                                let r = (i * s + m) as isize - p as isize;
                                let q = (j * s + n) as isize - p as isize;
                                if r >= 0 && q >= 0 && (r as usize) < h && (q as usize) < w {
                                    let xv = x[((bi * c + ci) * h + r as usize) * w + q as usize];
                                    acc += xv * wt[((oi * c + ci) * k + m) * k + n];
                                }
                            }
                        }
                    }
                    y[((bi * o + oi) * oh + i) * ow + j] = acc;
                }
            }
        }
    }
    (y, [b, o, oh, ow])
}

/// Formula 3.4.2 (`max`) and its average twin, "valid" windows.
pub fn pool2d(x: &[f64], [b, c, h, w]: [usize; 4], k: usize, s: usize, max: bool) -> (Vec<f64>, [usize; 4]) {
    let (oh, ow) = ((h - k) / s + 1, (w - k) / s + 1);
    let mut y = Vec::with_capacity(b * c * oh * ow);
    for plane in 0..b * c {
        for i in 0..oh {
            for j in 0..ow {
                let window = (0..k).flat_map(|m| (0..k).map(move |n| (m, n)));
                let values: Vec<f64> = window
                    .map(|(m, n)| x[(plane * h + i * s + m) * w + j * s + n])
                    .collect();
                y.push(if max {
                    values.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                } else {
                    values.iter().sum::<f64>() / values.len() as f64
                });
            }
        }
    }
    (y, [b, c, oh, ow])
}

/// `y = x Wᵀ + b` for `x` of `rows × inputs`, `W` of `units × inputs`.
pub fn dense(x: &[f64], rows: usize, wt: &[f64], units: usize, bias: &[f64]) -> Vec<f64> {
    let inputs = x.len() / rows;
    let mut y = vec![0.0; rows * units];
    for r in 0..rows {
        for u in 0..units {
            y[r * units + u] = bias[u]
                + (0..inputs)
                    .map(|i| x[r * inputs + i] * wt[u * inputs + i])
                    .sum::<f64>();
        }
    }
    y
}

pub struct GateParams {
    pub w: Vec<f64>,
    pub u: Vec<f64>,
    pub b: Vec<f64>,
}

/// `W x + U h + b` for one sample.
fn affine(g: &GateParams, x: &[f64], h: &[f64]) -> Vec<f64> {
    let units = g.b.len();
    let wx = dense(x, 1, &g.w, units, &g.b);
    let uh = dense(h, 1, &g.u, units, &vec![0.0; units]);
    wx.iter().zip(&uh).map(|(a, b)| a + b).collect()
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// Formula 3.4.3, every state: `h_t = tanh(W x_t + U h_{t−1} + b)`; returns `(batch, steps, units)`.
pub fn rnn(x: &[f64], [b, t, f]: [usize; 3], g: &GateParams) -> Vec<f64> {
    let units = g.b.len();
    let mut out = Vec::new();
    for bi in 0..b {
        let mut h = vec![0.0; units];
        for ti in 0..t {
            let x_t = &x[(bi * t + ti) * f..(bi * t + ti + 1) * f];
            h = affine(g, x_t, &h).into_iter().map(f64::tanh).collect();
            out.extend_from_slice(&h);
        }
    }
    out
}

/// The LSTM equations, gates in the order input, forget, cell, output; returns every state.
pub fn lstm(x: &[f64], [b, t, f]: [usize; 3], gates: [&GateParams; 4]) -> Vec<f64> {
    let units = gates[0].b.len();
    let mut out = Vec::new();
    for bi in 0..b {
        let (mut h, mut c) = (vec![0.0; units], vec![0.0; units]);
        for ti in 0..t {
            let x_t = &x[(bi * t + ti) * f..(bi * t + ti + 1) * f];
            let i: Vec<f64> = affine(gates[0], x_t, &h).into_iter().map(sigmoid).collect();
            let fg: Vec<f64> = affine(gates[1], x_t, &h).into_iter().map(sigmoid).collect();
            let g: Vec<f64> = affine(gates[2], x_t, &h).into_iter().map(f64::tanh).collect();
            let o: Vec<f64> = affine(gates[3], x_t, &h).into_iter().map(sigmoid).collect();
            c = (0..units).map(|k| fg[k] * c[k] + i[k] * g[k]).collect();
            h = (0..units).map(|k| o[k] * c[k].tanh()).collect();
            out.extend_from_slice(&h);
        }
    }
    out
}

/// Formula 3.4.4 for one head: `softmax(Q Kᵀ / √d_k) V`, `Q` of `s × d`, returns (output, weights).
pub fn attention(
    q: &[f64],
    k: &[f64],
    v: &[f64],
    s: usize,
    d: usize,
    mask: Option<&[f64]>,
) -> (Vec<f64>, Vec<f64>) {
    let mut weights = vec![0.0; s * s];
    for i in 0..s {
        let scores: Vec<f64> = (0..s)
            .map(|j| {
                (0..d).map(|c| q[i * d + c] * k[j * d + c]).sum::<f64>() / (d as f64).sqrt()
                    + mask.map_or(0.0, |m| m[j])
            })
            .collect();
        let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = scores.iter().map(|z| (z - max).exp()).collect();
        let total: f64 = exps.iter().sum();
        for j in 0..s {
            weights[i * s + j] = exps[j] / total;
        }
    }
    let mut out = vec![0.0; s * d];
    for i in 0..s {
        for c in 0..d {
            out[i * d + c] = (0..s).map(|j| weights[i * s + j] * v[j * d + c]).sum();
        }
    }
    (out, weights)
}

pub struct DenseParams {
    pub w: Vec<f64>,
    pub b: Vec<f64>,
}

/// Multi-head self-attention over `x` `(batch, s, d)`: project, split into heads of `d / heads`
/// features, attend per head, concatenate, project. Returns output and weights `(b, heads, s, s)`.
pub fn multi_head(
    x: &[f64],
    [b, s, d]: [usize; 3],
    heads: usize,
    p: [&DenseParams; 4],
    mask: Option<&[f64]>,
) -> (Vec<f64>, Vec<f64>) {
    let dk = d / heads;
    let q = dense(x, b * s, &p[0].w, d, &p[0].b);
    let k = dense(x, b * s, &p[1].w, d, &p[1].b);
    let v = dense(x, b * s, &p[2].w, d, &p[2].b);
    let head = |t: &[f64], bi: usize, hi: usize| -> Vec<f64> {
        (0..s)
            .flat_map(|si| (0..dk).map(move |c| (si, c)))
            .map(|(si, c)| t[(bi * s + si) * d + hi * dk + c])
            .collect()
    };
    let mut concat = vec![0.0; b * s * d];
    let mut all_weights = Vec::new();
    for bi in 0..b {
        for hi in 0..heads {
            let m = mask.map(|m| &m[bi * s..(bi + 1) * s]);
            let (o, w) = attention(&head(&q, bi, hi), &head(&k, bi, hi), &head(&v, bi, hi), s, dk, m);
            for si in 0..s {
                for c in 0..dk {
                    concat[(bi * s + si) * d + hi * dk + c] = o[si * dk + c];
                }
            }
            all_weights.extend(w);
        }
    }
    (dense(&concat, b * s, &p[3].w, d, &p[3].b), all_weights)
}

/// `(x − μ) / sqrt(σ² + ε) · γ + β` over rows of `gamma.len()` features.
pub fn layer_norm(x: &[f64], gamma: &[f64], beta: &[f64], eps: f64) -> Vec<f64> {
    let d = gamma.len();
    x.chunks(d)
        .flat_map(|row| {
            let mean = row.iter().sum::<f64>() / d as f64;
            let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d as f64;
            row.iter()
                .enumerate()
                .map(move |(i, v)| (v - mean) / (var + eps).sqrt() * gamma[i] + beta[i])
                .collect::<Vec<_>>()
        })
        .collect()
}

pub fn gelu(v: f64) -> f64 {
    0.5 * v * (1.0 + libm::erf(v / std::f64::consts::SQRT_2))
}

pub fn relu(v: f64) -> f64 {
    v.max(0.0)
}
