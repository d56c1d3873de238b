//! Generated sentiment sentences and a word-level tokenizer with a vocabulary built from data.
//!
//! Sentences come from templates ("the movie was really great", "i did not like the
//! acting") with negation, so the same words appear on both sides: a bag of words alone
//! cannot separate "not bad" from "not good". Label 0 is negative, 1 positive. The
//! vocabulary is small (a few dozen words); this is teaching data, not a corpus.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::dataset::TokenSet;
use super::wordpiece::{basic_tokenize, frame};

const NOUNS: &[&str] = &[
    "movie", "film", "acting", "story", "ending", "music", "plot", "script", "cast", "show",
];
const GOOD: &[&str] = &[
    "great",
    "good",
    "wonderful",
    "excellent",
    "fun",
    "moving",
    "brilliant",
];
const BAD: &[&str] = &["bad", "boring", "awful", "terrible", "dull", "weak", "poor"];
const INTENSIFIERS: &[&str] = &["", "really ", "very ", "so ", "quite "];
const LIKE: &[&str] = &["loved", "liked", "enjoyed", "adored"];
const DISLIKE: &[&str] = &["hated", "disliked"];

/// Sentences with their labels and class names.
#[derive(Debug, Clone, PartialEq)]
pub struct TextSet {
    pub texts: Vec<String>,
    pub labels: Vec<usize>,
    /// `["negative", "positive"]`.
    pub classes: Vec<String>,
}

impl TextSet {
    /// Encodes every sentence with `tokenizer` into a [`TokenSet`] of its `max_len`.
    pub fn encode(&self, tokenizer: &WordTokenizer) -> TokenSet {
        TokenSet {
            ids: self.texts.iter().flat_map(|t| tokenizer.encode(t)).collect(),
            seq_len: tokenizer.max_len,
            labels: self.labels.clone(),
            classes: self.classes.clone(),
        }
    }
}

/// `n` sentences, labels alternating negative, positive, ...; the same seed, the same sentences.
pub fn sentiment_sentences(n: usize, seed: u64) -> TextSet {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut texts = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let positive = i % 2 == 1;
        let mut pick = |words: &[&'static str]| *words.choose(&mut rng).expect("non-empty list");
        let noun = pick(NOUNS);
        let (good, bad, intens) = (pick(GOOD), pick(BAD), pick(INTENSIFIERS));
        let (like, dislike) = (pick(LIKE), pick(DISLIKE));
        let template = pick(&["0", "1", "2", "3", "4"]);
        let sentence = match (positive, template) {
            (true, "0") => format!("the {noun} was {intens}{good}"),
            (true, "1") => format!("the {noun} was not {bad}"),
            (true, "2") => format!("i {intens}{like} the {noun}"),
            (true, "3") => format!("i did not hate the {noun}"),
            (true, _) => format!("what a {good} {noun}"),
            (false, "0") => format!("the {noun} was {intens}{bad}"),
            (false, "1") => format!("the {noun} was not {good}"),
            (false, "2") => format!("i {intens}{dislike} the {noun}"),
            (false, "3") => format!("i did not like the {noun}"),
            (false, _) => format!("what a {bad} {noun}"),
        };
        texts.push(sentence);
        labels.push(positive as usize);
    }
    TextSet {
        texts,
        labels,
        classes: vec!["negative".into(), "positive".into()],
    }
}

/// Word-level tokenizer: [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, then the data's words.
#[derive(Debug, Clone, PartialEq)]
pub struct WordTokenizer {
    words: Vec<String>,
    ids: HashMap<String, usize>,
    /// Every encoding has exactly this many ids.
    pub max_len: usize,
}

impl WordTokenizer {
    pub const PAD: usize = 0;
    pub const UNK: usize = 1;
    pub const CLS: usize = 2;
    pub const SEP: usize = 3;

    /// Builds the vocabulary from `texts`: most frequent words first, ties alphabetical,
    /// so the ids do not depend on the order of the texts.
    pub fn fit<T: AsRef<str>>(texts: &[T], max_len: usize) -> WordTokenizer {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for text in texts {
            for word in basic_tokenize(text.as_ref(), true) {
                *counts.entry(word).or_default() += 1;
            }
        }
        let mut by_count: Vec<(String, usize)> = counts.into_iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let words: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
            .into_iter()
            .map(String::from)
            .chain(by_count.into_iter().map(|(w, _)| w))
            .collect();
        let ids = words.iter().enumerate().map(|(i, w)| (w.clone(), i)).collect();
        WordTokenizer { words, ids, max_len }
    }

    pub fn vocab_size(&self) -> usize {
        self.words.len()
    }

    pub fn id(&self, word: &str) -> Option<usize> {
        self.ids.get(word).copied()
    }

    pub fn word(&self, id: usize) -> Option<&str> {
        self.words.get(id).map(String::as_str)
    }

    /// Lowercased words with punctuation split off (BERT's basic tokenizer).
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        basic_tokenize(text, true)
    }

    /// `[CLS] words [SEP]` as ids, unknown words as [UNK], cut to `max_len` (keeping
    /// [SEP]) and padded with [PAD].
    pub fn encode(&self, text: &str) -> Vec<usize> {
        let ids: Vec<usize> = self
            .tokenize(text)
            .iter()
            .map(|w| self.id(w).unwrap_or(Self::UNK))
            .collect();
        frame(&ids, self.max_len, Self::CLS, Self::SEP, Self::PAD)
    }

    /// Ids back to words joined by spaces; [PAD], [CLS] and [SEP] are left out.
    pub fn decode(&self, ids: &[usize]) -> String {
        ids.iter()
            .filter(|&&id| ![Self::PAD, Self::CLS, Self::SEP].contains(&id))
            .map(|&id| self.word(id).unwrap_or("[UNK]"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}
