//! The `ferrolab` binary: one command-line entry point for the lab.
//!
//! With no subcommand it will start the REPL; until the REPL lands it prints the book's
//! models and what is coming.

mod summary;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "ferrolab", version, about = "Learn deep learning hands-on in Rust")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print a book model's Keras-style summary.
    Summary {
        model: summary::ModelName,
        /// For `bert`: which sizes.
        #[arg(long, value_enum, default_value = "small")]
        size: summary::BertSize,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Some(Command::Summary { model, size }) => summary::run(model, size),
        None => welcome(),
    }
}

fn welcome() -> anyhow::Result<()> {
    println!(
        "ferrolab {}: the book's deep-learning models in Rust\n",
        env!("CARGO_PKG_VERSION")
    );
    for model in [summary::ModelName::Cnn, summary::ModelName::Lstm] {
        summary::run(model, summary::BertSize::Small)?;
        println!();
    }
    println!("Try `ferrolab summary bert --size base` or `ferrolab --help`.");
    println!("Coming next: training with live plots, the notebook kernel and the terminal REPL.");
    Ok(())
}
