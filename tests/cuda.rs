//! The book's models on dfdx's Cuda device (feature `cuda`; needs an NVIDIA GPU to run):
//! the same weights give the same outputs as on the CPU, and training steps lower the loss.
#![cfg(feature = "cuda")]

mod common;

use common::random_vec;
use ferrolab::prelude::*;

fn close(cpu: &[f32], gpu: &[f32], what: &str) {
    for (i, (a, b)) in cpu.iter().zip(gpu).enumerate() {
        assert!(
            (a - b).abs() <= 1e-3 * (1.0 + a.abs()),
            "{what}[{i}]: cpu {a}, cuda {b}"
        );
    }
}

fn floats(n: usize, seed: u64) -> Vec<f32> {
    random_vec(n, seed).into_iter().map(|v| v as f32).collect()
}

#[test]
fn cnn_and_lstm_match_the_cpu() {
    let cpu = Cpu::seed_from_u64(0);
    let gpu = Cuda::seed_from_u64(0);

    let cnn = Cnn::<f32, Cpu>::new(&cpu);
    let on_gpu: Cnn<f32, Cuda> = cnn.to_device(&gpu);
    let x = floats(4 * 28 * 28, 1);
    let y_cpu = cnn.forward(cpu.tensor_from_vec(x.clone(), (4, 1, 28, 28)));
    let y_gpu = on_gpu.forward(gpu.tensor_from_vec(x, (4, 1, 28, 28)));
    close(&y_cpu.as_vec(), &y_gpu.as_vec(), "cnn");

    let lstm = StackedLstm::<f32, Cpu>::with_sizes(&cpu, 20, 10, 16, 10);
    let on_gpu: StackedLstm<f32, Cuda> = lstm.to_device(&gpu);
    let x = floats(4 * 20 * 10, 2);
    let y_cpu = lstm.forward(cpu.tensor_from_vec(x.clone(), (4, 20, 10)));
    let y_gpu = on_gpu.forward(gpu.tensor_from_vec(x, (4, 20, 10)));
    close(&y_cpu.as_vec(), &y_gpu.as_vec(), "lstm");
}

#[test]
fn bert_classifier_matches_the_cpu_and_trains_on_the_gpu() {
    let cpu = Cpu::seed_from_u64(0);
    let gpu = Cuda::seed_from_u64(0);
    let bert = BertClassifier::<f32, Cpu, 2>::new(&cpu, BertConfig::small(50, 2)).unwrap();
    let mut on_gpu: BertClassifier<f32, Cuda, 2> = bert.to_device(&gpu);
    let ids: Vec<usize> = (0..4 * 12)
        .map(|i| if i % 12 < 9 { 2 + (i * 7) % 48 } else { 0 })
        .collect();
    let y_cpu = bert.forward(cpu.tensor_from_vec(ids.clone(), (4, 12)));
    let gpu_ids = gpu.tensor_from_vec(ids, (4, 12));
    close(&y_cpu.as_vec(), &on_gpu.forward(gpu_ids.clone()).as_vec(), "bert");

    let targets = gpu.tensor_from_vec(vec![1.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0], (4, 2));
    let mut opt = Adam::new(
        &on_gpu,
        AdamConfig {
            lr: 1e-3,
            ..Default::default()
        },
    );
    let mut losses = Vec::new();
    for _ in 0..30 {
        let grads = on_gpu.alloc_grads();
        let scalar: Tensor<Rank0, f32, Cuda> = gpu.zeros();
        let (_, tape) = scalar.traced(grads).split_tape();
        let logits = on_gpu.forward(gpu_ids.clone().put_tape(tape));
        let loss = cross_entropy_with_logits_loss(logits, targets.clone());
        losses.push(loss.array());
        let grads = loss.backward();
        opt.update(&mut on_gpu, &grads).unwrap();
    }
    assert!(
        losses[29] < 0.5 * losses[0],
        "loss went {} -> {}",
        losses[0],
        losses[29]
    );
}
