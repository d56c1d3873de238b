//! Checks for the exercises of chapter 04_3 (tutorials/ch04-3.md).
//!
//! - `bert-input`: word ids framed as BERT's input, `[CLS] ids [SEP]`, cut and padded;
//! - `mean-pool`: one sentence vector from token vectors, padding left out;
//! - `cosine-similarity`: the angle between two sentence vectors.
//!
//! `bert-input` is judged against the library's [`WordTokenizer::encode`]; the other two
//! against their formulas, computed here in `f64`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{check, expect_close, expect_eq, Check};
use crate::data::{sentiment_sentences, WordTokenizer};

/// Checks `bert_input(word_ids, max_len)` with `[CLS] = 2`, `[SEP] = 3`, `[PAD] = 0`
/// ([`WordTokenizer`]'s ids): short sentences padded, one that fits exactly, ones cut short
/// (the `[SEP]` stays last), and an empty one.
pub fn bert_input(learner: fn(&[usize], usize) -> Vec<usize>) -> Check {
    check("bert-input", || {
        let texts = sentiment_sentences(40, 3).texts;
        let cases: [(&str, usize); 6] = [
            (&texts[0], 12),
            (&texts[1], 16),
            ("the movie was not bad", 7),
            ("i did not like the movie", 5),
            ("the movie was really great", 3),
            ("", 4),
        ];
        for (text, max_len) in cases {
            let tokenizer = WordTokenizer::fit(&texts, max_len);
            let words: Vec<usize> = tokenizer
                .tokenize(text)
                .iter()
                .map(|w| tokenizer.id(w).unwrap_or(WordTokenizer::UNK))
                .collect();
            let input = format!("word_ids {words:?} (\"{text}\"), max_len {max_len}");
            expect_eq(input, learner(&words, max_len), tokenizer.encode(text))?;
        }
        Ok(())
    })
}

/// Checks `mean_pool(hidden, mask)`: the average of the rows of `hidden` whose `mask` is 1,
/// on random token vectors with padding at the end, no padding, and one real token.
pub fn mean_pool(learner: fn(&[Vec<f32>], &[u8]) -> Vec<f32>) -> Check {
    check("mean-pool", || {
        let mut rng = StdRng::seed_from_u64(43);
        let cases: [(usize, usize, usize); 4] = [(6, 4, 4), (5, 3, 5), (4, 2, 1), (8, 5, 3)];
        for (tokens, features, real) in cases {
            let hidden: Vec<Vec<f32>> = (0..tokens)
                .map(|_| (0..features).map(|_| rng.gen_range(-2.0..2.0)).collect())
                .collect();
            let mask: Vec<u8> = (0..tokens).map(|i| (i < real) as u8).collect();
            let want: Vec<f64> = (0..features)
                .map(|f| {
                    let sum: f64 = hidden
                        .iter()
                        .zip(&mask)
                        .filter(|(_, &m)| m == 1)
                        .map(|(row, _)| row[f] as f64)
                        .sum();
                    sum / real as f64
                })
                .collect();
            let got: Vec<f64> = learner(&hidden, &mask).iter().map(|&v| v as f64).collect();
            let input = format!("hidden {hidden:?} and mask {mask:?}");
            expect_close(input, &got, &want, 1e-5)?;
        }
        Ok(())
    })
}

/// Checks `cosine_similarity(a, b)` = `a·b / (‖a‖ ‖b‖)`: random vectors, a scaled copy (1),
/// the opposite (−1), orthogonal vectors (0), and vectors of very different lengths.
pub fn cosine_similarity(learner: fn(&[f32], &[f32]) -> f32) -> Check {
    check("cosine-similarity", || {
        let mut rng = StdRng::seed_from_u64(44);
        let mut random = |d: usize| -> Vec<f32> { (0..d).map(|_| rng.gen_range(-1.0..1.0)).collect() };
        let cases: Vec<(Vec<f32>, Vec<f32>)> = vec![
            (random(5), random(5)),
            (vec![1.0, 2.0, 3.0], vec![2.0, 4.0, 6.0]),
            (vec![1.0, -2.0], vec![-1.0, 2.0]),
            (vec![3.0, 0.0, 0.0], vec![0.0, 0.5, 0.0]),
            (vec![100.0, 1.0, 0.0, 2.0], vec![0.01, 0.02, 0.0, 0.0]),
        ];
        for (a, b) in cases {
            let dot: f64 = a.iter().zip(&b).map(|(x, y)| (x * y) as f64).sum();
            let norm = |v: &[f32]| v.iter().map(|x| (x * x) as f64).sum::<f64>().sqrt();
            let want = dot / (norm(&a) * norm(&b));
            let got = learner(&a, &b) as f64;
            expect_close(format!("a = {a:?}, b = {b:?}"), &[got], &[want], 1e-5)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::*;

    fn solution_input(word_ids: &[usize], max_len: usize) -> Vec<usize> {
        let keep = max_len.saturating_sub(2).min(word_ids.len());
        let mut ids = vec![WordTokenizer::CLS];
        ids.extend_from_slice(&word_ids[..keep]);
        ids.push(WordTokenizer::SEP);
        ids.resize(max_len, WordTokenizer::PAD);
        ids
    }

    fn mistake_input(word_ids: &[usize], max_len: usize) -> Vec<usize> {
        let mut ids = vec![WordTokenizer::CLS];
        ids.extend_from_slice(word_ids);
        ids.push(WordTokenizer::SEP);
        ids.resize(max_len, WordTokenizer::PAD);
        ids
    }

    fn solution_pool(hidden: &[Vec<f32>], mask: &[u8]) -> Vec<f32> {
        let mut sum = vec![0.0; hidden[0].len()];
        let mut count = 0.0;
        for (row, &m) in hidden.iter().zip(mask) {
            if m == 1 {
                sum.iter_mut().zip(row).for_each(|(s, x)| *s += x);
                count += 1.0;
            }
        }
        sum.iter().map(|s| s / count).collect()
    }

    fn mistake_pool(hidden: &[Vec<f32>], _mask: &[u8]) -> Vec<f32> {
        let mut sum = vec![0.0; hidden[0].len()];
        for row in hidden {
            sum.iter_mut().zip(row).for_each(|(s, x)| *s += x);
        }
        sum.iter().map(|s| s / hidden.len() as f32).collect()
    }

    fn solution_cosine(a: &[f32], b: &[f32]) -> f32 {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (norm(a) * norm(b))
    }

    fn mistake_cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn reason(check: Check) -> String {
        match check.verdict {
            Verdict::Incorrect(reason) => reason,
            other => panic!("the mistake must be incorrect, got {other:?}"),
        }
    }

    #[test]
    fn bert_input_verdicts() {
        assert!(bert_input(solution_input).is_correct());
        let why = reason(bert_input(mistake_input));
        assert!(why.contains("max_len 5") && why.contains("expected [2,"), "{why}");
        assert_eq!(bert_input(|_, _| todo!()).verdict, Verdict::NotAttempted);
    }

    #[test]
    fn mean_pool_verdicts() {
        assert!(mean_pool(solution_pool).is_correct());
        let why = reason(mean_pool(mistake_pool));
        assert!(why.contains("mask [1, 1, 1, 1, 0, 0]"), "{why}");
        assert_eq!(mean_pool(|_, _| todo!()).verdict, Verdict::NotAttempted);
    }

    #[test]
    fn cosine_similarity_verdicts() {
        assert!(cosine_similarity(solution_cosine).is_correct());
        let why = reason(cosine_similarity(mistake_cosine));
        assert!(why.contains("a = [") && why.contains("expected"), "{why}");
        assert_eq!(cosine_similarity(|_, _| todo!()).verdict, Verdict::NotAttempted);
    }
}
