//! The `ferrolab` binary: one clap command line over the library and its front ends.
//!
//! Each subcommand is a thin call into a module; no protocol, engine or model logic lives here.
//! With no subcommand it will start the REPL; until the REPL lands it prints the book's
//! models and what is coming. The Jupyter kernel runs the protocol over a mock engine
//! until the evcxr engine lands.

mod bench;
mod engine;
mod jupyter;
mod summary;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

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
    /// Run as a Jupyter kernel (started by Jupyter with a connection file).
    Kernel {
        /// The connection file Jupyter wrote for this kernel.
        #[arg(short = 'f', long = "connection-file")]
        connection_file: PathBuf,
    },
    /// Time a training step of the book's models (compare with benches/pytorch_bench.py).
    Bench(bench::BenchArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        None => welcome(),
        Some(Command::Summary { model, size }) => summary::run(model, size),
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Kernel { connection_file }) => {
            let info = jupyter::connection::ConnectionInfo::from_file(&connection_file)?;
            jupyter::sockets::serve(&info, Box::new(engine::mock::MockEngine::new()))
        }
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
    println!(
        "Coming next: training with live plots, the notebook kernel's Rust engine and the terminal REPL."
    );
    Ok(())
}
