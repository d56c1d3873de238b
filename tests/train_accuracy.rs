//! The book's models reach their accuracy on the shipped and generated data: the CNN on the
//! 28×28 digits (≥ 97 %), the stacked LSTM on the turning-circle sequences and the BERT-style
//! classifier on the sentiment sentences (both well above chance). Seeded, bounded epochs;
//! each prints its per-epoch lines to stderr (`--nocapture` to see them).

use ferrolab::data::{digits_28x28, sentiment_sentences, sequence_classes, WordTokenizer};
use ferrolab::prelude::*;

fn run_fit<M: ferrolab::train::Trainable, S: ferrolab::data::Dataset>(
    model: &mut M,
    data: &S,
    cfg: &FitConfig,
) -> History {
    let mut lines = TextProgress::to(Box::new(std::io::stderr()));
    fit_with(model, data, cfg, &mut [], &mut lines).unwrap()
}

#[test]
fn book_cnn_reaches_97_percent_on_digits_28x28() {
    let data = digits_28x28().stratified_split(0.2, 42).unwrap();
    let dev = Cpu::seed_from_u64(0);
    let mut model = Cnn::<f32, Cpu>::new(&dev);
    let cfg = FitConfig::default().epochs(12).batch_size(32).seed(1);
    run_fit(&mut model, &data.train, &cfg);
    let test = evaluate(&model, &data.test, 128).unwrap();
    eprintln!("cnn test_accuracy={:.4}", test.accuracy);
    assert!(test.accuracy >= 0.97, "test accuracy {}", test.accuracy);
}

#[test]
fn stacked_lstm_learns_the_turning_circles() {
    // The book's structure (LSTM → LSTM → Dense) with 32 units instead of 64 to bound the time.
    let data = sequence_classes(50, 3).stratified_split(0.2, 42).unwrap();
    let dev = Cpu::seed_from_u64(0);
    let mut model = StackedLstm::<f32, Cpu>::with_sizes(&dev, 100, 10, 32, 10);
    let cfg = FitConfig::default()
        .epochs(15)
        .batch_size(32)
        .learning_rate(3e-3)
        .seed(1);
    run_fit(&mut model, &data.train, &cfg);
    let test = evaluate(&model, &data.test, 100).unwrap();
    eprintln!("lstm test_accuracy={:.4}", test.accuracy);
    assert!(
        test.accuracy >= 0.5,
        "test accuracy {} (chance 0.1)",
        test.accuracy
    );
}

#[test]
fn bert_small_learns_negated_sentiment() {
    let text = sentiment_sentences(800, 5);
    let tokenizer = WordTokenizer::fit(&text.texts, 12);
    let data = text.encode(&tokenizer).stratified_split(0.25, 42).unwrap();
    let dev = Cpu::seed_from_u64(0);
    let cfg = BertConfig::small(tokenizer.vocab_size(), 2);
    let mut model = BertClassifier::<f32, Cpu, 2>::new(&dev, cfg).unwrap();
    let fit_cfg = FitConfig::default()
        .epochs(8)
        .batch_size(32)
        .learning_rate(1e-3)
        .seed(1);
    run_fit(&mut model, &data.train, &fit_cfg);
    let test = evaluate(&model, &data.test, 100).unwrap();
    eprintln!("bert test_accuracy={:.4}", test.accuracy);
    assert!(
        test.accuracy >= 0.8,
        "test accuracy {} (chance 0.5)",
        test.accuracy
    );
}
