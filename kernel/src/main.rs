//! The `ferrolab` binary: one clap command line over the library and its front ends.
//!
//! Each subcommand is a thin call into a module; no protocol, engine or model logic lives here.
//! With no subcommand it starts the REPL. The Jupyter kernel runs Rust cells through the evcxr
//! engine (`FERROLAB_ENGINE=mock` selects the mock engine, for protocol tests).

// First: its `elog!` is used by the modules below.
#[macro_use]
mod log;
mod bench;
mod book_model;
mod course;
mod embed;
mod engine;
mod install;
mod jupyter;
mod load;
mod notebooks;
mod repl;
mod serve;
mod summary;
mod sync;
mod train;
mod tutorial;
mod warmup_command;

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
        model: book_model::BookModel,
        /// For `bert`: which sizes.
        #[arg(long, value_enum, default_value = "small")]
        size: summary::BertSize,
    },
    /// Train a book model on bundled or generated data and report its test accuracy.
    Train(train::TrainArgs),
    /// Serve a model repository over the Open Inference Protocol (KServe v2): HTTP, gRPC, metrics.
    Serve(serve::ServeArgs),
    /// Load-test an Open Inference Protocol server over HTTP: throughput and latency at a concurrency.
    Load(load::LoadArgs),
    /// The interactive terminal REPL (also what `ferrolab` alone starts).
    Repl {
        /// Which engine runs cells: `evcxr` (Rust) or `mock` (a tiny arithmetic language for tests).
        #[arg(long, default_value = "evcxr")]
        engine: String,
    },
    /// Run as a Jupyter kernel (started by Jupyter with a connection file).
    Kernel {
        /// The connection file Jupyter wrote for this kernel.
        #[arg(short = 'f', long = "connection-file")]
        connection_file: PathBuf,
    },
    /// Build the library for notebook cells now (once per machine), with progress.
    Warmup {
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
    },
    /// Install the Jupyter kernelspec "Rust (ferrolab)", then warm up.
    Install {
        /// In the user's Jupyter data dir (the default).
        #[arg(long, conflicts_with_all = ["sys_prefix", "prefix"])]
        user: bool,
        /// In the active Python environment (virtualenv or conda).
        #[arg(long, conflicts_with = "prefix")]
        sys_prefix: bool,
        /// Under PREFIX/share/jupyter/kernels.
        #[arg(long, value_name = "PREFIX")]
        prefix: Option<PathBuf>,
        /// Skip building the library afterwards.
        #[arg(long)]
        no_warmup: bool,
    },
    /// The guided course in the terminal: the REPL with a chapter open (where you left off).
    Tutorial {
        /// The chapter: 3.1, ch03-1, 6, …; default: the one you left, else chapter 1.
        chapter: Option<String>,
        /// Run every cell and every exercise's check (placeholder, mistake, solution) through
        /// the engine instead, print the outputs, and fail on any problem (for chapter authors).
        #[arg(long)]
        verify: bool,
    },
    /// Sentence embeddings from a pretrained BERT: one JSON object per text on stdout.
    Embed(embed::EmbedArgs),
    /// Render tutorials/*.md to notebooks/*.ipynb.
    Notebooks {
        /// Only compare: fail if a notebook is missing or out of date.
        #[arg(long)]
        check: bool,
    },
    /// Time a training step of the book's models (compare with benches/pytorch_bench.py).
    Bench(bench::BenchArgs),
}

/// Whether the first argument names one of our subcommands (`serve`, `embed`, …).
fn started_as_command() -> bool {
    use clap::CommandFactory;
    let Some(first) = std::env::args_os().nth(1) else {
        return false;
    };
    Cli::command().get_subcommands().any(|c| first == c.get_name())
}

fn main() -> anyhow::Result<()> {
    // The binary doubles as evcxr's runtime process and rustc wrapper; in those
    // roles this call never returns. It must run before anything else.
    if std::env::var_os("EVCXR_IS_RUNTIME").is_some() {
        if started_as_command() {
            // `ferrolab serve …` run from a cell inherits the runtime's environment, but
            // evcxr starts its runtime without a subcommand. No other thread exists yet.
            std::env::remove_var("EVCXR_IS_RUNTIME");
        } else {
            // As evcxr's runtime: one ordered output stream (see the module).
            engine::runtime_output::relay();
        }
    }
    evcxr::runtime_hook();
    match Cli::parse().command {
        None => run_repl("evcxr", None),
        Some(Command::Notebooks { check }) => notebooks::run(check),
        Some(Command::Embed(args)) => embed::run(args),
        Some(Command::Tutorial {
            chapter,
            verify: true,
        }) => {
            let chapter = chapter.ok_or_else(|| anyhow::anyhow!("--verify needs a chapter, e.g. ch03-1"))?;
            let engine = start_evcxr(true)?;
            let result = tutorial::verify(&engine, &chapter);
            engine::Engine::shutdown(&engine, false);
            result
        }
        Some(Command::Tutorial {
            chapter,
            verify: false,
        }) => {
            let saved = course::Course::load(course::progress::default_path(), false)
                .0
                .saved_chapter()
                .map(String::from);
            run_repl("evcxr", Some(chapter.or(saved).unwrap_or_else(|| "1".into())))
        }
        Some(Command::Summary { model, size }) => summary::run(model, size),
        Some(Command::Train(args)) => train::run(args),
        Some(Command::Serve(args)) => serve::run(args),
        Some(Command::Load(args)) => load::run(args),
        Some(Command::Repl { engine }) => run_repl(&engine, None),
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Kernel { connection_file }) => {
            let info = jupyter::connection::ConnectionInfo::from_file(&connection_file)?;
            let engine: Box<dyn engine::Engine> = if std::env::var("FERROLAB_ENGINE").as_deref() == Ok("mock")
            {
                Box::new(engine::mock::MockEngine::new())
            } else {
                // Before any thread starts: it sets the environment evcxr reads.
                Box::new(engine::evcxr_engine::EvcxrEngine::launch()?)
            };
            jupyter::sockets::serve(&info, engine)
        }
        Some(Command::Warmup { quiet }) => warmup_command::run(quiet),
        Some(Command::Install {
            user: _,
            sys_prefix,
            prefix,
            no_warmup,
        }) => {
            let location = match (sys_prefix, prefix) {
                (true, _) => install::Location::SysPrefix,
                (_, Some(prefix)) => install::Location::Prefix(prefix),
                _ => install::Location::User,
            };
            install::install(&location)?;
            if no_warmup {
                return Ok(());
            }
            warmup_command::run(false)
        }
    }
}

/// Starts the Rust engine. On a cold machine the library builds for cells first, with a
/// progress bar, rather than leave a prompt whose first cell would hang for minutes; with
/// `wait`, a warm start also waits until the engine is ready (for batch runs).
fn start_evcxr(wait: bool) -> anyhow::Result<engine::evcxr_engine::EvcxrEngine> {
    let engine = engine::evcxr_engine::EvcxrEngine::launch()?;
    if engine.started_cold() {
        println!("Building the ferrolab library for Rust cells (once per machine and version)…");
        warmup_command::wait_ready(&engine, false)?;
    } else if wait {
        warmup_command::wait_ready(&engine, true)?;
    }
    Ok(engine)
}

fn run_repl(engine: &str, chapter: Option<String>) -> anyhow::Result<()> {
    match engine {
        "mock" => {
            let banner = repl::Banner {
                device: "mock engine".into(),
                first_example: "1 + 2 * 3".into(),
            };
            repl::run(
                std::sync::Arc::new(engine::mock::MockEngine::new()),
                banner,
                chapter,
            )
        }
        "evcxr" => {
            let engine = start_evcxr(false)?;
            let device = if cfg!(feature = "cuda") {
                "CPU (CUDA available)"
            } else {
                "CPU"
            };
            let banner = repl::Banner {
                device: device.into(),
                first_example: "let dev = Cpu::seed_from_u64(0); Cnn::<f32, Cpu>::new(&dev).summary()".into(),
            };
            repl::run(std::sync::Arc::new(engine), banner, chapter)
        }
        other => anyhow::bail!("unknown engine {other:?}: use `evcxr` or `mock`"),
    }
}
