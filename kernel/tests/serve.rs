//! `ferrolab serve` against the real Triton clients (`tritonclient.http`, `.http.aio`,
//! `.grpc`, from PyPI in the test venv): each test builds a model repository, computes the
//! expected outputs with the library's own forward pass on the same inputs, starts the
//! binary on free ports, and runs a mode of `serve/clients.py` against it, which asserts
//! every answer. Also: a version reload under load, SIGTERM under load, and 10,000 malformed
//! HTTP requests and 5,000 malformed gRPC messages.

#[path = "python/mod.rs"]
mod python;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ferrolab::data::digits_28x28;
use ferrolab::prelude::*;
use ferrolab::train::save_checkpoint;
use serde_json::{json, Value};

const MINILM: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// A running server: its child process, ports and log file.
struct Served {
    child: Child,
    http: u16,
    grpc: u16,
    metrics: u16,
    log: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(repo: &Path, log: PathBuf) -> Served {
    start_with(&[OsStr::new("--models"), repo.as_os_str()], log)
}

/// `ferrolab serve ARGS` on free ports, once it says it is ready.
fn start_with(args: &[&OsStr], log: PathBuf) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrolab"))
        .arg("serve")
        .args(args)
        .args([
            "--http",
            "127.0.0.1:0",
            "--grpc",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut http, mut grpc, mut metrics) = (0, 0, 0);
    for line in lines.by_ref() {
        let line = line.unwrap();
        let port = || line.rsplit(':').next().unwrap().parse::<u16>().unwrap();
        if line.starts_with("ferrolab serve: http on ") {
            http = port();
        } else if line.starts_with("ferrolab serve: grpc on ") {
            grpc = port();
        } else if line.starts_with("ferrolab serve: metrics on ") {
            metrics = port();
        } else if line == "ferrolab serve: ready" {
            break;
        }
    }
    assert!(
        http > 0 && grpc > 0 && metrics > 0,
        "the server did not start: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Served {
        child,
        http,
        grpc,
        metrics,
        log,
    }
}

fn write_json(path: &Path, v: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, v.to_string()).unwrap();
}

/// Saves a CNN seeded with `seed` as `repo/<name>/<version>/` and returns it.
fn save_cnn(repo: &Path, name: &str, version: u32, seed: u64) -> Cnn<f32, Cpu> {
    let model = Cnn::<f32, Cpu>::new(&Cpu::seed_from_u64(seed));
    save_checkpoint(
        &model,
        repo.join(format!("{name}/{version}/model.safetensors")),
        0,
        None,
    )
    .unwrap();
    model
}

/// `n` digit images (28×28) as flat rows, and the model's logits for them.
fn cnn_case(model: &Cnn<f32, Cpu>, n: usize) -> Value {
    let digits = digits_28x28();
    let images: Vec<f32> = digits.features[..n * 784].to_vec();
    let dev = Cpu::default();
    let logits = model
        .forward(dev.tensor_from_vec(images.clone(), (n, 1, 28, 28)))
        .as_vec();
    json!({"input": images, "shape": [n, 1, 28, 28], "logits": logits})
}

fn run_clients(served: &Served, mode: &str, dir: &Path, extra: &[&str]) {
    let python = python::venv_python();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/serve/clients.py");
    let out = python::output_within(
        Command::new(python)
            .arg(script)
            .arg(mode)
            .args(["--http", &served.http.to_string()])
            .args(["--grpc", &served.grpc.to_string()])
            .args(["--metrics", &served.metrics.to_string()])
            .args(["--pid", &served.child.id().to_string()])
            .arg("--dir")
            .arg(dir)
            .args(extra),
        Duration::from_secs(600),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "clients.py {mode} failed:\n{stdout}\n{stderr}\n--- server log (tail) ---\n{}",
        tail(&served.log)
    );
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A small BERT classifier written as a Hugging Face `BertForSequenceClassification`
/// directory (`BertClassifier::save_pretrained`), and its logits for three texts.
fn sentiment_case(dir: &Path) -> Value {
    let vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nfilm\nwas\nnot\ngood\nbad\n!\n.\n##s";
    let wp = WordPiece::from_vocab_str("vocab", vocab).unwrap();
    let dev = Cpu::seed_from_u64(4);
    let clf = BertClassifier::<f32, Cpu, 2>::new(&dev, BertConfig::small(wp.vocab_size(), 2)).unwrap();
    clf.save_pretrained(dir, &wp).unwrap();
    let texts = ["the film was good!", "The film was NOT good.", "bad films"];
    let batch = wp.encode_batch(&texts, 64);
    let ids = dev.tensor_from_vec(batch.ids.clone(), (batch.batch, batch.steps));
    json!({"texts": texts, "logits": clf.forward(ids).as_vec()})
}

#[test]
fn the_triton_clients_get_the_librarys_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("models");
    let cnn = save_cnn(&repo, "cnn", 1, 7);
    // The same weights behind other settings: long batching window, tiny queue, no batching.
    save_cnn(&repo, "cnn_batched", 1, 7);
    write_json(
        &repo.join("cnn_batched/ferrolab.json"),
        &json!({"max_batch_size": 8, "max_queue_delay_microseconds": 200_000, "instance_count": 2}),
    );
    save_cnn(&repo, "cnn_small_queue", 1, 7);
    write_json(
        &repo.join("cnn_small_queue/ferrolab.json"),
        &json!({"max_batch_size": 1, "max_queue_delay_microseconds": 0, "max_queue_size": 1}),
    );
    let mlp = Mlp::<f32, Cpu>::new(&Cpu::seed_from_u64(3), 64, 32, 10);
    save_checkpoint(&mlp, repo.join("mlp/1/mlp.safetensors"), 0, None).unwrap();
    let mlp_in: Vec<f32> = (0..3 * 64).map(|i| (i % 17) as f32 / 16.0).collect();
    let mlp_out = mlp
        .forward(Cpu::default().tensor_from_vec(mlp_in.clone(), (3, 64)))
        .as_vec();
    let mut expected = json!({
        "cnn": cnn_case(&cnn, 16),
        "mlp": {"input": mlp_in, "shape": [3, 64], "logits": mlp_out},
        "sentiment": sentiment_case(&repo.join("sentiment/1")),
    });
    // A BERT directory when all-MiniLM-L6-v2 is installed (tests/fixtures/install_minilm.sh).
    match BertModel::from_pretrained(MINILM) {
        Ok(bert) => {
            let bert_dir = repo.join("minilm/1");
            bert.save_pretrained(&bert_dir).unwrap();
            let texts = [
                "The cat sat on the mat.",
                "ferrolab serves models",
                "Ein Satz auf Deutsch.",
            ];
            let reloaded = BertModel::from_pretrained(bert_dir.to_str().unwrap()).unwrap();
            let embeddings = reloaded.embed(&texts).unwrap();
            expected["bert"] = json!({"texts": texts, "embeddings": embeddings});
        }
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI installs all-MiniLM-L6-v2: {e}"
            );
            eprintln!("SKIPPED the BERT cases: all-MiniLM-L6-v2 is not installed ({e})");
        }
    }
    write_json(&dir.path().join("expected.json"), &expected);
    let served = start(&repo, dir.path().join("server.log"));
    run_clients(&served, "features", dir.path(), &[]);
}

#[test]
fn a_new_version_loads_under_load_without_a_failed_request() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("models");
    let v1 = save_cnn(&repo, "cnn", 1, 1);
    let served = start(&repo, dir.path().join("server.log"));
    // Version 2 is prepared beside the repository; the script moves it in while under load.
    let v2 = save_cnn(&dir.path().join("staging"), "cnn", 2, 2);
    write_json(
        &dir.path().join("expected.json"),
        &json!({"v1": cnn_case(&v1, 4), "v2": cnn_case(&v2, 4)}),
    );
    run_clients(&served, "reload", dir.path(), &[]);
}

#[test]
fn sigterm_under_load_answers_every_accepted_request() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("models");
    let cnn = save_cnn(&repo, "cnn", 1, 5);
    write_json(
        &dir.path().join("expected.json"),
        &json!({"cnn": cnn_case(&cnn, 4)}),
    );
    let mut served = start(&repo, dir.path().join("server.log"));
    run_clients(&served, "sigterm", dir.path(), &[]);
    let status = served.child.wait().unwrap();
    assert!(
        status.success(),
        "the server exits cleanly after SIGTERM: {status:?}\n{}",
        tail(&served.log)
    );
    assert!(std::fs::read_to_string(&served.log)
        .unwrap()
        .contains("ferrolab serve: stopped"));
}

#[test]
fn malformed_requests_leave_the_server_answering() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("models");
    let cnn = save_cnn(&repo, "cnn", 1, 9);
    write_json(
        &dir.path().join("expected.json"),
        &json!({"cnn": cnn_case(&cnn, 2)}),
    );
    let served = start(&repo, dir.path().join("server.log"));
    run_clients(&served, "barrage", dir.path(), &[]);
}

/// `ferrolab load URL…` and its JSON line.
fn load(served: &Served, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrolab"))
        .arg("load")
        .args(["--url", &format!("http://127.0.0.1:{}", served.http)])
        .args(["--input", "input:FP32:1,1,28,28", "--seconds", "0.5"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// GET `path` on the server's HTTP port; the whole response.
fn get(served: &Served, path: &str) -> String {
    let mut http = std::net::TcpStream::connect(("127.0.0.1", served.http)).unwrap();
    write!(
        http,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    http.read_to_string(&mut answer).unwrap();
    answer
}

/// The load generator's requests all succeed, over JSON and the binary extension, and the
/// server's statistics count every one; requests for a model the server lacks are counted
/// as errors with the server's own message.
#[test]
fn the_load_generator_measures_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("models");
    save_cnn(&repo, "cnn", 1, 3);
    let served = start(&repo, dir.path().join("server.log"));
    let mut answered = 0;
    for extra in [&[][..], &["--binary"][..]] {
        let report = load(
            &served,
            &[&["--model", "cnn", "--concurrency", "4"][..], extra].concat(),
        );
        eprintln!("load: {report}");
        let requests = report["requests"].as_u64().unwrap();
        assert!(requests > 0 && report["errors"] == 0, "{report}");
        assert!(report["p50_ms"].as_f64() <= report["p99_ms"].as_f64(), "{report}");
        answered += requests;
    }
    let stats = get(&served, "/v2/models/cnn/stats");
    let stats: Value = serde_json::from_str(stats.split_once("\r\n\r\n").unwrap().1).unwrap();
    let counted = stats["model_stats"][0]["inference_stats"]["success"]["count"]
        .as_u64()
        .unwrap();
    // The warm-up's requests are answered but not in the report.
    assert!(counted >= answered, "{counted} < {answered}: {stats}");

    let report = load(&served, &["--model", "nope"]);
    assert_eq!(report["requests"], 0, "{report}");
    assert!(report["errors"].as_u64().unwrap() > 0, "{report}");
    let error = report["first_error"].as_str().unwrap();
    assert!(error.contains("404") && error.contains("nope"), "{report}");
}

#[test]
fn the_demo_trains_and_serves_the_cnn() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut served = start_with(&[OsStr::new("--demo")], log.clone());
    // The model answers its metadata (the clients' suite covers inference on the same path).
    let answer = get(&served, "/v2/models/cnn");
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains(r#""versions":["1"]"#),
        "{answer}"
    );
    // SIGTERM, so the server stops cleanly and removes its temporary repository.
    unsafe { libc::kill(served.child.id() as i32, libc::SIGTERM) };
    let status = served.child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("loaded model 'cnn'"), "{text}");
    let accuracy: f64 = text
        .split("test accuracy ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("the demo reports its accuracy: {text}"));
    assert!(accuracy > 0.5, "the demo's CNN learned the digits: {accuracy}");
    assert!(
        status.success(),
        "the demo stops cleanly on SIGTERM: {status:?}\n{text}"
    );
}
