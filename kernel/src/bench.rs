//! `ferrolab bench`: how long one training step of each of the book's models takes.
//!
//! A step is forward, cross-entropy, backward and one Adam update on random data of the
//! issue's shapes (cnn: 64×1×28×28; rnn: 64×100×10, `SimpleRnn` 64 → Dense 10; lstm: the
//! book's stacked LSTM on 64×100×10; transformer: 2 encoder blocks, d 64, 4 heads, ff 256,
//! on 32×64×64, mean-pooled → Dense 10). Each model is warmed up, then timed step by step;
//! the table reports the median. `--json` adds one line `{"cnn": ms, …}` at the end for
//! scripts (`benches/pytorch_bench.py` reads it). `--digits` also times the CNN from
//! scratch to 97 % test accuracy on the bundled digits with a plain loop.
//!
//! Limits: CPU only, f32; wall-clock medians on a possibly shared machine, so compare
//! ratios taken in one run, not absolute numbers across runs.

use anyhow::{bail, Result};
use ferrolab::data::digits_28x28;
use ferrolab::dfdx::optim::{Adam, AdamConfig};
use ferrolab::dfdx::prelude::*;
use ferrolab::models::{Cnn, StackedLstm};
use ferrolab::nn::{Dense, EncoderBlock, EncoderConfig, SimpleRnn};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Models to time (default: all four).
    #[arg(value_enum)]
    pub models: Vec<Model>,
    /// Threads for dfdx's matmul and our kernels (the rayon pool); default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Warm-up steps before timing.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Timed steps per model; the median is reported.
    #[arg(long, default_value_t = 15)]
    pub steps: usize,
    /// Also time the CNN to 97 % test accuracy on the bundled digits.
    #[arg(long)]
    pub digits: bool,
    /// Use the layers' generic dfdx path instead of the CPU kernels (to see what they gain).
    #[arg(long)]
    pub generic: bool,
    /// End with one JSON line `{"cnn": ms, "rnn": ms, "lstm": ms, "transformer": ms}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Cnn,
    Rnn,
    Lstm,
    Transformer,
}

impl Model {
    const ALL: [Model; 4] = [Model::Cnn, Model::Rnn, Model::Lstm, Model::Transformer];

    fn name(self) -> &'static str {
        match self {
            Model::Cnn => "cnn",
            Model::Rnn => "rnn",
            Model::Lstm => "lstm",
            Model::Transformer => "transformer",
        }
    }

    fn shape(self) -> &'static str {
        match self {
            Model::Cnn => "64×1×28×28, conv32-pool-conv64-pool-dense10",
            Model::Rnn => "64×100×10, SimpleRnn 64 → dense10",
            Model::Lstm => "64×100×10, LSTM 64 seq → LSTM 64 → dense10",
            Model::Transformer => "32×64×64, 2 enc (4 heads, ff 256) → mean → dense10",
        }
    }
}

pub fn run(args: BenchArgs) -> Result<()> {
    keep_freed_memory();
    if let Some(n) = args.threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        // dfdx's matmul asks rayon for `current_num_threads()`, so this sizes both.
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global()?;
    }
    // The steps run *on* one of the pool's workers, not on the main thread: every kernel's
    // parallel loop then starts on a worker that takes part in it, instead of waking the pool
    // from outside and sleeping until it finishes (a futex round trip per call, ≈10 % of a
    // 2-thread transformer step, which makes hundreds of such calls).
    // (`rayon::scope` called from outside the pool runs its closure on a worker.)
    rayon::scope(|_| run_on_worker(args))
}

/// [`run`], on a worker of the rayon pool.
fn run_on_worker(args: BenchArgs) -> Result<()> {
    let threads = rayon::current_num_threads();
    // Thread-local switch: the models below run on this (worker) thread.
    ferrolab::nn::kernels::set_fast_kernels(!args.generic);
    let path = if args.generic {
        "generic dfdx ops"
    } else {
        "CPU kernels"
    };
    let models = if args.models.is_empty() {
        Model::ALL.to_vec()
    } else {
        args.models.clone()
    };
    let steps = args.steps.max(1);
    println!("ferrolab bench: training step (forward, cross-entropy, backward, Adam), f32, {threads} thread(s), {path}");
    println!(
        "{:<12} {:>10} {:>10} {:>10}  shapes",
        "model", "median ms", "min ms", "max ms"
    );
    let mut results = Vec::new();
    for model in models {
        let times = time_model(model, args.warmup, steps)?;
        let (median, min, max) = summarise(&times);
        println!(
            "{:<12} {:>10.2} {:>10.2} {:>10.2}  {}",
            model.name(),
            median,
            min,
            max,
            model.shape()
        );
        if model == Model::Cnn {
            // ≈0.94 GFLOP per step (conv forward, both conv backward GEMMs, dense).
            let gflops = cnn_step_flops() / (median * 1e-3) / 1e9;
            println!("{:<12} {gflops:>10.1} GFLOP/s", "");
        }
        results.push((model.name(), median));
    }
    if args.digits {
        let (secs, epochs, acc) = cnn_to_97()?;
        println!("cnn on digits: {acc:.1}% test accuracy after {epochs} epoch(s), {secs:.1} s");
    }
    if args.json {
        let fields = results
            .iter()
            .map(|(name, ms)| format!("\"{name}\": {ms:.3}"))
            .collect::<Vec<_>>()
            .join(", ");
        println!("{{{fields}}}");
    }
    Ok(())
}

/// Asks glibc to serve large buffers from its heap and keep freed ones, instead of mapping
/// fresh zeroed pages from the OS for every multi-megabyte activation and returning them
/// after the step. Those page faults were ≈30 % of a CNN step. (PyTorch's CPU allocator
/// reuses memory too.) glibc refuses (silently) an mmap threshold above 32 MiB, its
/// `HEAP_MAX_SIZE / 2`, and setting any of these turns its self-tuning threshold off, so an
/// out-of-range value would leave every buffer above 128 KiB mmapped. A no-op off glibc.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; called before the benchmark allocates.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

/// Median, min and max in ms.
fn summarise(times: &[Duration]) -> (f64, f64, f64) {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = ms.len();
    let median = if n % 2 == 1 {
        ms[n / 2]
    } else {
        (ms[n / 2 - 1] + ms[n / 2]) / 2.0
    };
    (median, ms[0], ms[n - 1])
}

/// Multiply-adds ×2 of the CNN's convolutions (forward, weight and input gradients) and dense layer.
fn cnn_step_flops() -> f64 {
    let conv = |p: f64, k: f64, o: f64| 2.0 * 64.0 * p * k * o;
    let fwd = conv(26.0 * 26.0, 9.0, 32.0) + conv(11.0 * 11.0, 288.0, 64.0) + 2.0 * 64.0 * 1600.0 * 10.0;
    3.0 * fwd
}

fn time_model(model: Model, warmup: usize, steps: usize) -> Result<Vec<Duration>> {
    let dev = Cpu::seed_from_u64(0);
    Ok(match model {
        Model::Cnn => {
            let net = Cnn::<f32, Cpu>::new(&dev);
            let x: Tensor<(usize, usize, usize, usize), f32, Cpu> = dev.sample_normal_like(&(64, 1, 28, 28));
            time_steps(&dev, net, x, 64, |m, x| m.try_forward(x), warmup, steps)?
        }
        Model::Rnn => {
            // (SimpleRnn 10 → 64, last state; Dense 64 → 10): tuples are dfdx modules.
            let net: (SimpleRnn<f32, Cpu>, Dense<f32, Cpu>) =
                (SimpleRnn::new(&dev, 10, 64), Dense::new(&dev, 64, 10));
            let x: Tensor<(usize, usize, usize), f32, Cpu> = dev.sample_normal_like(&(64, 100, 10));
            time_steps(
                &dev,
                net,
                x,
                64,
                |m, x| m.1.try_forward(m.0.try_forward(x)?),
                warmup,
                steps,
            )?
        }
        Model::Lstm => {
            let net = StackedLstm::<f32, Cpu>::new(&dev);
            let x: Tensor<(usize, usize, usize), f32, Cpu> = dev.sample_normal_like(&(64, 100, 10));
            time_steps(&dev, net, x, 64, |m, x| m.try_forward(x), warmup, steps)?
        }
        Model::Transformer => {
            let cfg = EncoderConfig::default();
            let net = (
                (EncoderBlock::new(&dev, cfg)?, EncoderBlock::new(&dev, cfg)?),
                Dense::new(&dev, 64, 10),
            );
            let x: Tensor<(usize, usize, usize), f32, Cpu> = dev.sample_normal_like(&(32, 64, 64));
            time_steps(
                &dev,
                net,
                x,
                32,
                |m, x| {
                    let x = m.0 .0.try_forward(x)?; // (B, S, D)
                    let x = m.0 .1.try_forward(x)?; // (B, S, D)
                    let pooled = x.mean::<(usize, usize), Axis<1>>(); // (B, S, D) -> (B, D)
                    m.1.try_forward(pooled) // -> (B, 10)
                },
                warmup,
                steps,
            )?
        }
    })
}

/// Times `warmup + steps` Adam steps of `forward` on the fixed batch `x` with random labels.
fn time_steps<M, S>(
    dev: &Cpu,
    mut net: M,
    x: Tensor<S, f32, Cpu>,
    batch: usize,
    forward: impl Fn(
        &M,
        Tensor<S, f32, Cpu, OwnedTape<f32, Cpu>>,
    ) -> ferrolab::Result<Tensor<(usize, usize), f32, Cpu, OwnedTape<f32, Cpu>>>,
    warmup: usize,
    steps: usize,
) -> Result<Vec<Duration>>
where
    M: TensorCollection<f32, Cpu>,
    S: Shape,
{
    let labels: Vec<usize> = (0..batch).map(|i| (i * 7 + 3) % 10).collect();
    let targets = one_hot(dev, &labels);
    let mut opt = Adam::new(&net, AdamConfig::default());
    let mut grads = net.alloc_grads();
    let mut times = Vec::with_capacity(steps);
    for i in 0..warmup + steps {
        let start = Instant::now();
        let logits = forward(&net, x.trace(grads))?;
        let loss = cross_entropy_with_logits_loss(logits, targets.clone());
        grads = loss.backward();
        opt.update(&mut net, &grads)
            .map_err(|e| anyhow::anyhow!("Adam: {e:?}"))?;
        net.zero_grads(&mut grads);
        if i >= warmup {
            times.push(start.elapsed());
        }
    }
    Ok(times)
}

fn one_hot(dev: &Cpu, labels: &[usize]) -> Tensor<(usize, usize), f32, Cpu> {
    let mut v = vec![0.0f32; labels.len() * 10];
    for (i, &l) in labels.iter().enumerate() {
        v[i * 10 + l] = 1.0;
    }
    dev.tensor_from_vec(v, (labels.len(), 10))
}

/// Trains a fresh CNN on 80 % of the digits (batch 64, Adam 1e-3) until its test accuracy
/// reaches 97 %; returns (seconds, epochs, accuracy %). Evaluation time is included.
fn cnn_to_97() -> Result<(f64, usize, f64)> {
    let dev = Cpu::seed_from_u64(1);
    let split = digits_28x28().stratified_split(0.2, 42)?;
    let (train, test) = (split.train, split.test);
    let item = train.item_len();
    let mut net = Cnn::<f32, Cpu>::new(&dev);
    let mut opt = Adam::new(&net, AdamConfig::default());
    let mut grads = net.alloc_grads();
    let mut order: Vec<usize> = (0..train.labels.len()).collect();
    let start = Instant::now();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for epoch in 1..=30 {
        // A small xorshift shuffle: reproducible, no extra dependency.
        for i in (1..order.len()).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            order.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        for chunk in order.chunks(64) {
            let mut xs = Vec::with_capacity(chunk.len() * item);
            let labels: Vec<usize> = chunk.iter().map(|&i| train.labels[i]).collect();
            for &i in chunk {
                xs.extend_from_slice(train.item(i));
            }
            let x = dev.tensor_from_vec(xs, (chunk.len(), 1, 28, 28));
            let logits = net.try_forward(x.trace(grads))?;
            let loss = cross_entropy_with_logits_loss(logits, one_hot(&dev, &labels));
            grads = loss.backward();
            opt.update(&mut net, &grads)
                .map_err(|e| anyhow::anyhow!("Adam: {e:?}"))?;
            net.zero_grads(&mut grads);
        }
        let acc = accuracy(&dev, &net, &test)?;
        if acc >= 97.0 {
            return Ok((start.elapsed().as_secs_f64(), epoch, acc));
        }
    }
    bail!("the CNN did not reach 97% test accuracy on digits in 30 epochs")
}

fn accuracy(dev: &Cpu, net: &Cnn<f32, Cpu>, test: &ferrolab::data::FeatureSet) -> Result<f64> {
    let n = test.labels.len();
    let mut correct = 0;
    for start in (0..n).step_by(256) {
        let end = (start + 256).min(n);
        let xs = test.features[start * test.item_len()..end * test.item_len()].to_vec();
        let logits = net.try_forward(dev.tensor_from_vec(xs, (end - start, 1, 28, 28)))?;
        let v = logits.as_vec();
        for (row, &label) in v.chunks(10).zip(&test.labels[start..end]) {
            let best = (0..10)
                .max_by(|&a, &b| row[a].partial_cmp(&row[b]).unwrap())
                .unwrap();
            correct += usize::from(best == label);
        }
    }
    Ok(100.0 * correct as f64 / n as f64)
}
