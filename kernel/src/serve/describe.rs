//! What the server says about itself and its models, as JSON in the protocol's shapes:
//! server metadata, model metadata, model configuration (Triton's JSON form), statistics
//! and the repository index. HTTP sends these as they are; gRPC fills its messages from
//! the same values where the shapes differ only in encoding.

use std::sync::atomic::Ordering::Relaxed;

use serde_json::{json, Value};

use super::repository::{IndexEntry, Version};

/// The extensions this server implements, as server metadata lists them.
pub const EXTENSIONS: &[&str] = &[
    "binary_tensor_data",
    "model_configuration",
    "statistics",
    "model_repository",
];

pub fn server_metadata() -> Value {
    json!({"name": "ferrolab", "version": env!("CARGO_PKG_VERSION"), "extensions": EXTENSIONS})
}

pub fn platform(v: &Version) -> String {
    format!("ferrolab_{}", v.kind)
}

pub fn model_metadata(v: &Version) -> Value {
    let tensor = |t: &super::backend::TensorSpec| json!({"name": t.name, "datatype": t.datatype, "shape": t.batched_shape()});
    json!({
        "name": v.model,
        "versions": [v.version_string()],
        "platform": platform(v),
        "inputs": [tensor(&v.signature.input)],
        "outputs": v.signature.outputs.iter().map(tensor).collect::<Vec<_>>(),
    })
}

/// Triton's name for a protocol datatype in a model configuration.
pub fn config_type(datatype: &str) -> &'static str {
    match datatype {
        "FP32" => "TYPE_FP32",
        "BYTES" => "TYPE_STRING",
        _ => "TYPE_INVALID",
    }
}

/// A tensor's dims in the configuration: one text per row is `[1]` there, reshaped to `[]`.
pub fn config_dims(dims: &[i64]) -> Vec<i64> {
    if dims.is_empty() {
        vec![1]
    } else {
        dims.to_vec()
    }
}

/// The model configuration in Triton's JSON shape (what perf_analyzer reads).
pub fn model_config(v: &Version) -> Value {
    let s = &v.settings;
    let input = &v.signature.input;
    let mut input_json = json!({
        "name": input.name,
        "data_type": config_type(input.datatype),
        "format": "FORMAT_NONE",
        "dims": config_dims(&input.dims),
    });
    if input.dims.is_empty() {
        input_json["reshape"] = json!({"shape": []});
    }
    let mut config = json!({
        "name": v.model,
        "platform": platform(v),
        "backend": "ferrolab",
        "version_policy": {"latest": {"num_versions": 1}},
        "max_batch_size": s.max_batch_size,
        "input": [input_json],
        "output": v.signature.outputs.iter().map(|o| json!({
            "name": o.name, "data_type": config_type(o.datatype), "dims": o.dims,
        })).collect::<Vec<_>>(),
        "instance_group": [{"name": v.model, "kind": "KIND_CPU", "count": s.instance_count}],
    });
    if s.max_queue_delay_microseconds > 0 {
        config["dynamic_batching"] = json!({
            "preferred_batch_size": [],
            "max_queue_delay_microseconds": s.max_queue_delay_microseconds,
            "preserve_ordering": true,
        });
    }
    config
}

fn duration(count: u64, ns: u64) -> Value {
    json!({"count": count, "ns": ns})
}

/// One model version's statistics in the statistics extension's shape.
pub fn model_stats(v: &Version) -> Value {
    let st = &v.stats;
    let d = |x: &super::stats::Duration2| {
        let (c, n) = x.get();
        duration(c, n)
    };
    let batches: Vec<Value> = st
        .batches()
        .into_iter()
        .map(|(size, b)| {
            json!({
                "batch_size": size,
                "compute_input": duration(b.count, b.input_ns),
                "compute_infer": duration(b.count, b.infer_ns),
                "compute_output": duration(b.count, b.output_ns),
            })
        })
        .collect();
    json!({
        "name": v.model,
        "version": v.version_string(),
        "last_inference": st.last_inference_ms.load(Relaxed),
        "inference_count": st.inference_count.load(Relaxed),
        "execution_count": st.execution_count.load(Relaxed),
        "inference_stats": {
            "success": d(&st.success),
            "fail": d(&st.fail),
            "queue": d(&st.queue),
            "compute_input": d(&st.compute_input),
            "compute_infer": d(&st.compute_infer),
            "compute_output": d(&st.compute_output),
            "cache_hit": duration(0, 0),
            "cache_miss": duration(0, 0),
        },
        "batch_stats": batches,
    })
}

pub fn index(entries: &[IndexEntry]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|e| {
                let mut row = json!({"name": e.name, "state": e.state});
                if !e.version.is_empty() {
                    row["version"] = json!(e.version);
                }
                if !e.reason.is_empty() {
                    row["reason"] = json!(e.reason);
                }
                row
            })
            .collect(),
    )
}
