//! The book's models by name, as `ferrolab summary` and `ferrolab train` take them.

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BookModel {
    /// The book's CNN for 1×28×28 digits (34,826 parameters).
    Cnn,
    /// The book's stacked LSTM over 100 steps × 10 features (52,874 parameters).
    Lstm,
    /// The BERT-style classifier at the chapter's small size.
    Bert,
    /// The concepts chapter's MLP (8×8 digits or a CSV table).
    Mlp,
}
