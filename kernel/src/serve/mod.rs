//! `ferrolab serve`: a model server speaking the Open Inference Protocol (KServe v2) over
//! HTTP and gRPC, with Prometheus metrics, for the models of a Triton-style repository.
//!
//! Start-up: the listeners are bound first (each prints `ferrolab serve: <proto> on ADDR`
//! on stdout, so port 0 works), so the server answers live at once; the repository's models
//! then load on a blocking thread and the server reports ready once they have (`ready` on
//! stdout). SIGTERM or Ctrl-C: not ready, stop accepting, answer what is in flight, exit.
//!
//! Modules: `repository` (the layout and the loaded models), `config` (a model's
//! `ferrolab.json`), `backend` (what a version computes), `batcher` (the model's threads
//! and dynamic batching), `tensors` (decoding the protocol's tensors), `infer` (one
//! inference, protocol-neutral), `describe` (metadata, config, statistics as JSON), `http`,
//! `grpc`, `metrics` (the three listeners), `stats`, `error`, `demo`.

mod backend;
mod batcher;
mod config;
mod demo;
mod describe;
mod error;
mod grpc;
mod http;
mod infer;
mod metrics;
mod repository;
mod stats;
mod tensors;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use repository::Repository;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The model repository: DIR/<model>/<version>/ (a checkpoint or a Hugging Face BERT).
    #[arg(long, value_name = "DIR", required_unless_present = "demo")]
    pub models: Option<PathBuf>,
    /// Where the HTTP/REST endpoint listens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// Where the gRPC endpoint listens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
    pub grpc: SocketAddr,
    /// Where Prometheus metrics are served (GET /metrics).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8082")]
    pub metrics: SocketAddr,
    /// Train the book's CNN on the bundled digits for a few seconds and serve it as `cnn`.
    #[arg(long, conflicts_with = "models")]
    pub demo: bool,
    /// No access log lines on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// What every front end shares.
pub struct Server {
    pub repo: Repository,
    /// Start-up loading is done and no shutdown has begun.
    loaded: AtomicBool,
    pub access_log: bool,
}

impl Server {
    pub fn is_ready(&self) -> bool {
        self.loaded.load(Ordering::SeqCst) && self.repo.all_ready()
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    // The demo's repository lives as long as the server.
    let (root, _demo_dir) = if args.demo {
        let dir = demo::train_into_repository()?;
        (dir.path().to_path_buf(), Some(dir))
    } else {
        let root = args
            .models
            .clone()
            .expect("clap requires --models without --demo");
        anyhow::ensure!(root.is_dir(), "--models {}: no such folder", root.display());
        (root, None)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("serve-io")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args, root))
}

async fn serve(args: ServeArgs, root: PathBuf) -> anyhow::Result<()> {
    let server = Arc::new(Server {
        repo: Repository::new(root),
        loaded: AtomicBool::new(false),
        access_log: !args.quiet,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|&s| s).await;
    };

    let bind = |addr: SocketAddr, what: &'static str| async move {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {what} to {addr}"))?;
        println!("ferrolab serve: {what} on {}", listener.local_addr()?);
        anyhow::Ok(listener)
    };
    let http_listener = bind(args.http, "http").await?;
    let grpc_listener = bind(args.grpc, "grpc").await?;
    let metrics_listener = bind(args.metrics, "metrics").await?;

    use axum::serve::ListenerExt;
    let nodelay = |tcp: &mut tokio::net::TcpStream| {
        let _ = tcp.set_nodelay(true);
    };
    let http = tokio::spawn(
        axum::serve(http_listener.tap_io(nodelay), http::router(server.clone()))
            .with_graceful_shutdown(stopped(stop_rx.clone()))
            .into_future(),
    );
    let metrics = tokio::spawn(
        axum::serve(metrics_listener.tap_io(nodelay), metrics::router(server.clone()))
            .with_graceful_shutdown(stopped(stop_rx.clone()))
            .into_future(),
    );
    let grpc = tokio::spawn(grpc::serve(
        server.clone(),
        grpc_listener,
        stopped(stop_rx.clone()),
    ));

    let loader = server.clone();
    tokio::task::spawn_blocking(move || {
        for name in loader.repo.names_on_disk() {
            match loader.repo.load(&name) {
                Ok(()) => eprintln!("loaded model '{name}'"),
                Err(e) => eprintln!("error: {e}"),
            }
        }
        loader.loaded.store(true, Ordering::SeqCst);
        println!("ferrolab serve: ready");
    });

    wait_for_signal().await;
    eprintln!("ferrolab serve: stopping (finishing requests in flight)");
    server.loaded.store(false, Ordering::SeqCst);
    let _ = stop_tx.send(true);
    for (what, task) in [("http", http), ("metrics", metrics)] {
        if let Ok(Err(e)) = task.await {
            eprintln!("{what}: {e}");
        }
    }
    if let Ok(Err(e)) = grpc.await {
        eprintln!("grpc: {e}");
    }
    eprintln!("ferrolab serve: stopped");
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
