//! The `ferrolab` binary: one clap command line over the library's front ends.
//!
//! Today it has the Jupyter kernel (`ferrolab kernel -f FILE`), backed by the
//! mock engine until the evcxr engine lands; with no subcommand it prints the
//! version (the REPL will take that place). Each subcommand is a thin call into
//! a module; no protocol or engine logic lives here.

mod engine;
mod jupyter;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "ferrolab",
    version,
    about = "Learn deep learning hands-on in Rust"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run as a Jupyter kernel (started by Jupyter with a connection file).
    Kernel {
        /// The connection file Jupyter wrote for this kernel.
        #[arg(short = 'f', long = "connection-file")]
        connection_file: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        None => {
            println!("ferrolab {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some(Command::Kernel { connection_file }) => {
            let info = jupyter::connection::ConnectionInfo::from_file(&connection_file)?;
            jupyter::sockets::serve(&info, Box::new(engine::mock::MockEngine::new()))
        }
    }
}
