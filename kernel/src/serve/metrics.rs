//! Prometheus metrics in the text exposition format (version 0.0.4), on their own
//! listener at `/metrics`: per model and version, requests that succeeded and failed (by
//! reason), samples inferred, forward passes run, cumulative queue and compute time, and
//! requests pending. Rendered from the same counters as the statistics extension, at the
//! moment of the scrape; a version that is unloaded stops appearing.

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::repository::Version;
use super::Server;

pub fn router(server: Arc<Server>) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(server)
}

async fn metrics(axum::extract::State(server): axum::extract::State<Arc<Server>>) -> Response {
    let mut response = render(&server.repo.loaded()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exposition text for `versions`.
pub fn render(versions: &[Arc<Version>]) -> String {
    let mut out = String::new();
    let labels = |v: &Version| format!("model=\"{}\",version=\"{}\"", escape(&v.model), v.version);
    let mut family = |name: &str, kind: &str, help: &str, value: &dyn Fn(&Version) -> Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for v in versions {
            for (extra, x) in value(v) {
                let _ = writeln!(out, "{name}{{{}{extra}}} {x}", labels(v));
            }
        }
    };
    family(
        "ferrolab_inference_request_success",
        "counter",
        "Inference requests answered successfully.",
        &|v| vec![(String::new(), v.stats.success.get().0 as f64)],
    );
    family(
        "ferrolab_inference_request_failure",
        "counter",
        "Inference requests that failed, by reason (BAD_REQUEST, REJECTED, TIMEOUT, UNAVAILABLE, OTHER).",
        &|v| {
            let failures = v.stats.failures();
            [
                "BAD_REQUEST",
                "REJECTED",
                "TIMEOUT",
                "UNAVAILABLE",
                "NOT_FOUND",
                "OTHER",
            ]
            .iter()
            .map(|r| {
                (
                    format!(",reason=\"{r}\""),
                    failures.get(r).copied().unwrap_or(0) as f64,
                )
            })
            .collect()
        },
    );
    family(
        "ferrolab_inference_count",
        "counter",
        "Samples inferred (a request with a batch of 4 counts 4).",
        &|v| vec![(String::new(), v.stats.inference_count.load(Relaxed) as f64)],
    );
    family(
        "ferrolab_inference_exec_count",
        "counter",
        "Forward passes run (a dynamically merged batch counts 1).",
        &|v| vec![(String::new(), v.stats.execution_count.load(Relaxed) as f64)],
    );
    family(
        "ferrolab_inference_request_duration_us",
        "counter",
        "Cumulative time from a request's arrival to its answer, in microseconds.",
        &|v| {
            vec![(
                String::new(),
                (v.stats.success.get().1 + v.stats.fail.get().1) as f64 / 1e3,
            )]
        },
    );
    family(
        "ferrolab_inference_queue_duration_us",
        "counter",
        "Cumulative time requests waited in the queue, in microseconds.",
        &|v| vec![(String::new(), v.stats.queue.get().1 as f64 / 1e3)],
    );
    family(
        "ferrolab_inference_compute_infer_duration_us",
        "counter",
        "Cumulative time in forward passes, per request, in microseconds.",
        &|v| vec![(String::new(), v.stats.compute_infer.get().1 as f64 / 1e3)],
    );
    family(
        "ferrolab_inference_pending_request_count",
        "gauge",
        "Requests accepted and not yet answered.",
        &|v| vec![(String::new(), v.stats.pending.load(Relaxed) as f64)],
    );
    out
}
