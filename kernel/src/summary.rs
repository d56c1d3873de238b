//! `ferrolab summary MODEL`: prints a book model's Keras-style summary.
//!
//! Models are built with random weights on the CPU just to count and shape them.

use crate::book_model::BookModel;
use clap::ValueEnum;
use ferrolab::prelude::*;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BertSize {
    /// 2 layers, hidden 64 (the chapter's model).
    Small,
    /// all-MiniLM-L6-v2's sizes.
    MiniLm,
    /// BERT-base.
    Base,
}

pub fn run(model: BookModel, size: BertSize) -> anyhow::Result<()> {
    let dev = Cpu::seed_from_u64(0);
    let summary = match model {
        BookModel::Cnn => Cnn::<f32, Cpu>::new(&dev).summary(),
        BookModel::Lstm => StackedLstm::<f32, Cpu>::new(&dev).summary(),
        BookModel::Mlp => Mlp::<f32, Cpu>::new(&dev, 64, 32, 10).summary(),
        BookModel::Bert => match size {
            BertSize::Small => {
                BertClassifier::<f32, Cpu, 2>::new(&dev, BertConfig::small(1000, 2))?.summary(64)
            }
            BertSize::MiniLm => {
                BertClassifier::<f32, Cpu, 6>::new(&dev, BertConfig::mini_lm(2))?.summary(128)
            }
            BertSize::Base => BertClassifier::<f32, Cpu, 12>::new(&dev, BertConfig::base(2))?.summary(128),
        },
    };
    println!("{summary}");
    Ok(())
}
