//! Checks for the exercises of chapter 6 (tutorials/ch06.md): the book's four FAQ questions
//! as a quiz. Each answer is a function returning a choice, `'a'` to `'d'`.
//!
//! Every check works out the right choice from a fact it computes (a byte count, the
//! library's parameter counts, its gradients, its attention weights' shape) and, for a wrong
//! choice, says why that choice is wrong with the computed numbers.

use dfdx::prelude::*;

use super::{check, Check};
use crate::error::ShapeText;
use crate::nn::{scaled_dot_product_attention, Conv2D, Conv2DConfig, LastState, OutputShape, SimpleRnn};

const CHOICES: [char; 4] = ['a', 'b', 'c', 'd'];

/// The learner's choice, lower-cased, or why it is not one.
fn read_choice(answer: char) -> Result<char, String> {
    let choice = answer.to_ascii_lowercase();
    if CHOICES.contains(&choice) {
        Ok(choice)
    } else {
        Err(format!("answer one of 'a', 'b', 'c' or 'd'; got {answer:?}"))
    }
}

/// `Ok` when `answer` is `right`, else why the chosen option is wrong.
fn judge(answer: char, right: char, why_not: impl Fn(char) -> String) -> Result<(), String> {
    let choice = read_choice(answer)?;
    if choice == right {
        Ok(())
    } else {
        Err(format!("you chose ({choice}): {}", why_not(choice)))
    }
}

/// The size of a number in words: `700 GB`.
fn bytes_text(bytes: f64) -> String {
    let units = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")];
    for (scale, unit) in units {
        if bytes >= scale {
            return format!("{} {unit}", (bytes / scale).round());
        }
    }
    format!("{bytes} bytes")
}

/// GPT-3's parameter count (Brown et al. 2020).
pub const GPT3_PARAMS: f64 = 175e9;

/// Exercise `faq-large-model`: how much memory GPT-3's weights take as 32-bit floats.
/// Choices: (a) 175 MB, (b) 700 MB, (c) 700 GB, (d) 175 TB.
pub fn large_model(answer: fn() -> char) -> Check {
    check("faq-large-model", || {
        let options = [175e6, 700e6, 700e9, 175e12];
        let bytes = GPT3_PARAMS * std::mem::size_of::<f32>() as f64;
        let right = closest(&options, bytes);
        judge(answer(), right, |choice| {
            let chosen = options[index(choice)];
            let factor = if chosen < bytes {
                format!("{:.0} times too small", bytes / chosen)
            } else {
                format!("{:.0} times too large", chosen / bytes)
            };
            format!(
                "{} parameters × {} bytes per f32 = {} bytes, about {}; {} is {factor}. \
                 A large model (大模型) is large in exactly this sense: its weights alone fill \
                 several GPUs' memory.",
                thousands(GPT3_PARAMS),
                std::mem::size_of::<f32>(),
                thousands(bytes),
                bytes_text(bytes),
                bytes_text(chosen),
            )
        })
    })
}

/// The choice whose value is nearest `value` (by ratio).
fn closest(options: &[f64], value: f64) -> char {
    let ratio = |o: f64| (o / value).ln().abs();
    let best = (0..options.len())
        .min_by(|&i, &j| ratio(options[i]).total_cmp(&ratio(options[j])))
        .unwrap_or(0);
    CHOICES[best]
}

fn index(choice: char) -> usize {
    CHOICES.iter().position(|&c| c == choice).unwrap_or(0)
}

fn thousands(value: f64) -> String {
    crate::summary::thousands(value.round() as usize)
}

/// Exercise `faq-cnn`: Conv2D(32, 3×3) on 1-channel images: its parameters on 280×280 images.
/// Choices: (a) the same as on 28×28, (b) 10 times as many, (c) 100 times as many,
/// (d) none: it cannot take 280×280 images.
pub fn cnn(answer: fn() -> char) -> Check {
    check("faq-cnn", || {
        let dev = Cpu::default();
        let conv = Conv2D::<f32, Cpu>::new(&dev, Conv2DConfig::new(1, 32, 3)).map_err(|e| e.to_string())?;
        let params = conv.num_trainable_params();
        let shape = |input: &[usize]| conv.output_shape(input).map(|s| ShapeText(s).to_string());
        let small = shape(&[1, 1, 28, 28]).map_err(|e| e.to_string())?;
        let large = shape(&[1, 1, 280, 280]).map_err(|e| e.to_string())?;
        // The layer itself never sees the image size: the same weights serve both.
        let right = 'a';
        judge(answer(), right, |choice| {
            let shared = format!(
                "the layer holds 32 filters of 3×3×1 weights plus 32 biases, {params} numbers, \
                 and slides the same filters over every position of any image (weight sharing \
                 权值共享), so its count does not depend on the image size"
            );
            match choice {
                'd' => format!(
                    "it takes any image at least 3×3: on 28×28 it outputs {small}, on 280×280 \
                     {large}; and {shared}"
                ),
                _ => format!("{shared}; only the output grows, from {small} to {large}"),
            }
        })
    })
}

/// Exercise `faq-rnn`: why a plain tanh RNN learns long-range dependencies badly.
/// Choices: (a) the gradient reaching an early input shrinks step by step (vanishing
/// gradient), (b) it has one weight matrix per step and runs out of them, (c) tanh's outputs
/// lie in (−1, 1), too small to store anything, (d) its hidden state is reset every few steps.
pub fn rnn(answer: fn() -> char) -> Check {
    check("faq-rnn", || {
        let dev = Cpu::seed_from_u64(0);
        let rnn = SimpleRnn::<f64, Cpu, LastState>::new(&dev, 4, 16);
        let params = rnn.num_trainable_params();
        let steps = 40;
        let x: Tensor<(usize, usize, usize), f64, Cpu> = dev.sample_normal_like(&(1, steps, 4));
        let grads = rnn.forward(x.leaky_trace()).sum().backward();
        let g = grads.get(&x).as_vec();
        let norm = |t: usize| g[t * 4..(t + 1) * 4].iter().map(|v| v * v).sum::<f64>().sqrt();
        let (near, far) = (norm(steps - 1), norm(0));
        let measured = format!(
            "for a SimpleRnn(16 units) at its initial weights, the gradient of h_T with respect \
             to the last input has norm {near:.2e}, and with respect to the input {} steps back \
             {far:.2e}: each step multiplies it by U and by tanh' ≤ 1",
            steps - 1
        );
        judge(answer(), 'a', |choice| {
            let why = match choice {
                'b' => format!(
                    "one W, one U and one b serve every step: the layer has {params} parameters \
                     for a sequence of any length"
                ),
                'c' => "(−1, 1) holds as much as any real interval; 16 such numbers can encode a \
                        lot, and an LSTM stores its memory in the same range"
                    .to_string(),
                _ => "h_0 = 0 only before the first step; after that h_t carries on to the end".to_string(),
            };
            format!("{why}. The trouble is learning: {measured}")
        })
    })
}

/// Exercise `faq-transformer`: how many attention weights one head computes over n tokens.
/// Choices: (a) n, (b) n², (c) n·d_k, (d) d_k².
pub fn transformer(answer: fn() -> char) -> Check {
    check("faq-transformer", || {
        let dev = Cpu::seed_from_u64(0);
        let (n, d_k) = (7, 4);
        let shape = (1, 1, n, d_k);
        let q: Tensor<(usize, usize, usize, usize), f32, Cpu> = dev.sample_normal_like(&shape);
        let (_, weights) = scaled_dot_product_attention(q.clone(), q.clone(), q, None);
        let (b, h, rows, cols) = *weights.shape();
        let count = b * h * rows * cols;
        let options = [n, n * n, n * d_k, d_k * d_k];
        let right = CHOICES[options.iter().position(|&o| o == count).unwrap_or(1)];
        judge(answer(), right, |choice| {
            format!(
                "for n = {n} tokens and d_k = {d_k}, that would be {} weights, but the library's \
                 attention weights have shape ({b}, {h}, {rows}, {cols}): {count} numbers, one \
                 for every (query, key) pair, as every token looks at every token. That is why \
                 attention's cost grows with the square of the length",
                options[index(choice)]
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::*;

    fn reason(check: Check) -> String {
        match check.verdict {
            Verdict::Incorrect(reason) => reason,
            other => panic!("expected incorrect, got {other:?}"),
        }
    }

    #[test]
    fn large_model_verdicts() {
        assert!(large_model(|| 'c').is_correct());
        assert!(large_model(|| 'C').is_correct());
        let why = reason(large_model(|| 'b'));
        assert!(
            why.contains("700 GB") && why.contains("1000 times too small"),
            "{why}"
        );
        assert!(reason(large_model(|| 'x')).contains("one of"));
        assert_eq!(large_model(|| todo!()).verdict, Verdict::NotAttempted);
    }

    #[test]
    fn cnn_verdicts() {
        assert!(cnn(|| 'a').is_correct());
        let why = reason(cnn(|| 'c'));
        assert!(why.contains("320 numbers"), "{why}");
        assert!(reason(cnn(|| 'd')).contains("(1, 32, 278, 278)"));
        assert_eq!(cnn(|| todo!()).verdict, Verdict::NotAttempted);
    }

    #[test]
    fn rnn_verdicts() {
        assert!(rnn(|| 'a').is_correct());
        let why = reason(rnn(|| 'b'));
        assert!(why.contains("336 parameters"), "{why}");
        assert_eq!(rnn(|| todo!()).verdict, Verdict::NotAttempted);
    }

    #[test]
    fn transformer_verdicts() {
        assert!(transformer(|| 'b').is_correct());
        let why = reason(transformer(|| 'c'));
        assert!(
            why.contains("(1, 1, 7, 7)") && why.contains("28 weights"),
            "{why}"
        );
        assert_eq!(transformer(|| todo!()).verdict, Verdict::NotAttempted);
    }
}
