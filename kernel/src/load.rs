//! `ferrolab load`: a load generator for any Open Inference Protocol (v2) server over HTTP,
//! in the spirit of Triton's perf_analyzer (which is not on PyPI). `--concurrency` keep-alive
//! connections each keep one inference request in flight for `--seconds`, after a warm-up;
//! it prints one JSON line with the throughput and latency percentiles.
//!
//! It speaks only the protocol, so it measures ours, MLServer and Triton alike. Python's
//! clients cannot: above a few thousand requests a second they saturate their own core
//! before the server does, and the figure is the client's.

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct LoadArgs {
    /// The server's HTTP address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The model to call.
    #[arg(long)]
    model: String,
    /// The input tensor as NAME:DATATYPE:SHAPE, e.g. `input:FP32:1,1,8,8` (FP32 only).
    #[arg(long)]
    input: String,
    /// Connections, each with one request in flight.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Seconds measured, after a warm-up a quarter as long.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Send the tensor with Triton's binary tensor extension instead of JSON.
    #[arg(long)]
    binary: bool,
}

/// One request's bytes, built once and sent by every connection.
#[derive(Clone)]
struct Request {
    authority: String,
    path: String,
    body: Bytes,
    /// `Inference-Header-Content-Length` for a binary body.
    json_length: Option<usize>,
}

/// What one connection saw.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

pub fn run(args: LoadArgs) -> Result<()> {
    if args.concurrency == 0 || args.seconds <= 0.0 {
        bail!("--concurrency and --seconds must be positive");
    }
    let request = build_request(&args)?;
    // One thread: the client's cost per request stays small and on one core.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let warmup = Duration::from_secs_f64(args.seconds / 4.0);
    let measured = Duration::from_secs_f64(args.seconds);
    let tallies = runtime.block_on(async {
        let start = Instant::now() + warmup;
        let end = start + measured;
        let workers: Vec<_> = (0..args.concurrency)
            .map(|_| tokio::spawn(connection(request.clone(), start, end)))
            .collect();
        let mut tallies = Vec::new();
        for worker in workers {
            tallies.push(worker.await?);
        }
        anyhow::Ok(tallies)
    })?;
    let mut latencies: Vec<Duration> = Vec::new();
    let (mut errors, mut first_error) = (0, None);
    for tally in tallies {
        let tally = tally?;
        latencies.extend(tally.latencies);
        errors += tally.errors;
        first_error = first_error.or(tally.first_error);
    }
    latencies.sort();
    let percentile = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len().max(1)) - 1;
        latencies.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    let report = serde_json::json!({
        "model": args.model,
        "protocol": if args.binary { "http-binary" } else { "http-json" },
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "requests": latencies.len(),
        "errors": errors,
        "first_error": first_error,
        "throughput": latencies.len() as f64 / args.seconds,
        "p50_ms": percentile(0.50),
        "p90_ms": percentile(0.90),
        "p99_ms": percentile(0.99),
    });
    println!("{report}");
    Ok(())
}

/// The inference request for `args.input`, filled with a fixed ramp of values.
fn build_request(args: &LoadArgs) -> Result<Request> {
    let url: hyper::Uri = args.url.parse().with_context(|| format!("--url {}", args.url))?;
    if url.scheme_str() != Some("http") {
        bail!("--url {}: only http:// is spoken", args.url);
    }
    let authority = url
        .authority()
        .with_context(|| format!("--url {} has no host", args.url))?
        .to_string();
    let (name, datatype, shape) = parse_input(&args.input)?;
    let count: usize = shape.iter().product();
    let values: Vec<f32> = (0..count).map(|i| (i % 17) as f32 / 16.0).collect();
    let mut tensor = serde_json::json!({ "name": name, "datatype": datatype, "shape": shape });
    let (body, json_length) = if args.binary {
        tensor["parameters"] = serde_json::json!({ "binary_data_size": count * 4 });
        let mut body = serde_json::to_vec(&serde_json::json!({ "inputs": [tensor] }))?;
        let json_length = body.len();
        body.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        (body, Some(json_length))
    } else {
        tensor["data"] = serde_json::json!(values);
        (
            serde_json::to_vec(&serde_json::json!({ "inputs": [tensor] }))?,
            None,
        )
    };
    Ok(Request {
        authority,
        path: format!("/v2/models/{}/infer", args.model),
        body: body.into(),
        json_length,
    })
}

/// `NAME:DATATYPE:SHAPE` into its parts.
fn parse_input(spec: &str) -> Result<(String, String, Vec<usize>)> {
    let parts: Vec<&str> = spec.split(':').collect();
    let [name, datatype, shape] = parts[..] else {
        bail!("--input {spec:?}: expected NAME:DATATYPE:SHAPE, e.g. input:FP32:1,1,8,8");
    };
    if datatype != "FP32" {
        bail!("--input {spec:?}: datatype {datatype} is not supported, only FP32");
    }
    let shape = shape
        .split(',')
        .map(|d| d.trim().parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("--input {spec:?}: the shape {shape:?} is not a list of sizes"))?;
    Ok((name.to_string(), datatype.to_string(), shape))
}

/// One keep-alive connection sending `request` until `end`; latencies from `start` on.
async fn connection(request: Request, start: Instant, end: Instant) -> Result<Tally> {
    let mut sender = connect(&request.authority).await?;
    let mut tally = Tally::default();
    loop {
        let sent = Instant::now();
        if sent >= end {
            return Ok(tally);
        }
        let outcome = send(&mut sender, &request).await;
        if sent < start {
            continue;
        }
        match outcome {
            Ok(()) => tally.latencies.push(sent.elapsed()),
            Err(e) => {
                tally.errors += 1;
                tally.first_error.get_or_insert_with(|| format!("{e:#}"));
                if sender.is_closed() {
                    sender = connect(&request.authority).await?;
                }
            }
        }
    }
}

async fn connect(authority: &str) -> Result<SendRequest<Full<Bytes>>> {
    let tcp = tokio::net::TcpStream::connect(authority)
        .await
        .with_context(|| format!("connecting to {authority}"))?;
    tcp.set_nodelay(true)?;
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Sends one request and reads the whole response; a status other than 200 is an error.
async fn send(sender: &mut SendRequest<Full<Bytes>>, request: &Request) -> Result<()> {
    sender.ready().await?;
    let mut builder = hyper::Request::post(&request.path)
        .header(hyper::header::HOST, &request.authority)
        .header(hyper::header::CONTENT_TYPE, "application/json");
    if let Some(length) = request.json_length {
        builder = builder.header("Inference-Header-Content-Length", length);
    }
    let response = sender
        .send_request(builder.body(Full::new(request.body.clone()))?)
        .await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if status != hyper::StatusCode::OK {
        bail!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_specs_are_read_or_refused_with_the_reason() {
        let (name, datatype, shape) = parse_input("input:FP32:1, 1,8,8").unwrap();
        assert_eq!(
            (name.as_str(), datatype.as_str(), shape),
            ("input", "FP32", vec![1, 1, 8, 8])
        );
        let e = parse_input("input:FP32").unwrap_err().to_string();
        assert!(e.contains("NAME:DATATYPE:SHAPE"), "{e}");
        let e = parse_input("input:INT8:1").unwrap_err().to_string();
        assert!(e.contains("only FP32"), "{e}");
        let e = format!("{:#}", parse_input("input:FP32:1,x").unwrap_err());
        assert!(e.contains("not a list of sizes"), "{e}");
    }
}
