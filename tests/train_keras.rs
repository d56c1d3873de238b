//! The `Keras` methods (`model.fit`, `evaluate`, `predict`, `predict_proba`) are the free
//! functions compiled with the library: for each book model, starting from the same
//! weights and seed, the method and the function train to the same numbers.

use ferrolab::data::{digits, digits_28x28, sentiment_sentences, sequence_classes, Dataset, WordTokenizer};
use ferrolab::prelude::*;

fn quiet() -> FitConfig {
    FitConfig::default()
        .epochs(2)
        .batch_size(16)
        .seed(3)
        .verbose(Verbose::Silent)
}

/// Trains one copy of `model` with the method and one with the function, then compares
/// the histories, the test metrics, the predictions and the probabilities exactly.
fn method_matches_function<M: Keras>(model: M, train: &dyn Dataset, test: &dyn Dataset) {
    let (mut by_method, mut by_function) = (model.clone(), model);
    let cfg = quiet().validation_split(0.25);
    let h_method = by_method.fit(train, &cfg).unwrap();
    let h_function = fit(&mut by_function, &train, &cfg).unwrap();
    assert_eq!(h_method.loss, h_function.loss);
    assert_eq!(h_method.val_accuracy, h_function.val_accuracy);
    assert!(
        h_method.loss[1] < h_method.loss[0],
        "did not learn: {:?}",
        h_method.loss
    );

    let m_method = by_method.evaluate(test, 32).unwrap();
    let m_function = evaluate(&by_function, &test, 32).unwrap();
    assert_eq!(
        (m_method.loss, m_method.accuracy),
        (m_function.loss, m_function.accuracy)
    );
    assert_eq!(
        by_method.predict(test, 32).unwrap(),
        predict(&by_function, &test, 32).unwrap()
    );
    let probs = by_method.predict_proba(test, 32).unwrap();
    assert_eq!(probs, predict_proba(&by_function, &test, 32).unwrap());
    assert_eq!(probs.len(), test.len());
}

#[test]
fn mlp_method_is_the_function() {
    let data = digits().stratified_split(0.2, 7).unwrap();
    let model = Mlp::<f32, Cpu>::new(&Cpu::seed_from_u64(1), 64, 32, 10);
    method_matches_function(model, &data.train, &data.test);
}

#[test]
fn cnn_method_is_the_function() {
    let data = digits_28x28().stratified_split(0.2, 42).unwrap();
    let train = data.train.subset(&(0..160).collect::<Vec<_>>());
    let test = data.test.subset(&(0..64).collect::<Vec<_>>());
    method_matches_function(Cnn::<f32, Cpu>::new(&Cpu::seed_from_u64(2)), &train, &test);
}

#[test]
fn stacked_lstm_method_is_the_function() {
    let data = sequence_classes(8, 3).stratified_split(0.25, 42).unwrap();
    let model = StackedLstm::<f32, Cpu>::with_sizes(&Cpu::seed_from_u64(3), 100, 10, 8, 10);
    method_matches_function(model, &data.train, &data.test);
}

#[test]
fn bert_method_is_the_function() {
    let text = sentiment_sentences(96, 5);
    let tokenizer = WordTokenizer::fit(&text.texts, 12);
    let data = text.encode(&tokenizer).stratified_split(0.25, 42).unwrap();
    let cfg = BertConfig::small(tokenizer.vocab_size(), 2);
    let model = BertClassifier::<f32, Cpu, 2>::new(&Cpu::seed_from_u64(4), cfg).unwrap();
    method_matches_function(model, &data.train, &data.test);
}
