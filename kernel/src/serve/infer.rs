//! One inference, whichever front end it came through: the request checked against the
//! model's signature (input name, datatype, shape, batch size, requested outputs), queued
//! for the model's threads, awaited, and the outputs shaped for the reply. Counts success,
//! failure and pending requests in the version's [`Stats`](super::stats::Stats).

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::batcher::Job;
use super::error::{ServeError, ServeResult};
use super::repository::{Repository, Version};
use super::tensors::{decode, element_count, InputTensor};

#[derive(Debug, Clone)]
pub struct RequestedOutput {
    pub name: String,
    /// The output's own `binary_data` parameter (HTTP).
    pub binary: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct InferRequest {
    pub id: String,
    pub inputs: Vec<InputTensor>,
    /// `None`: every output of the model.
    pub outputs: Option<Vec<RequestedOutput>>,
    /// The request's `binary_data_output` parameter (HTTP).
    pub binary_output: bool,
}

#[derive(Debug, Clone)]
pub struct OutputTensor {
    pub name: String,
    pub datatype: &'static str,
    pub shape: Vec<i64>,
    pub data: Vec<f32>,
    /// Whether HTTP sends it in binary after the JSON header.
    pub binary: bool,
}

#[derive(Debug, Clone)]
pub struct InferResponse {
    pub model_name: String,
    pub model_version: String,
    pub id: String,
    pub outputs: Vec<OutputTensor>,
}

/// Runs `request` on `model` (at `version`, or the latest).
pub async fn infer(
    repo: &Repository,
    model: &str,
    version: Option<&str>,
    request: InferRequest,
) -> ServeResult<InferResponse> {
    let v = repo.get(model, version)?;
    let started = Instant::now();
    v.stats.pending.fetch_add(1, Relaxed);
    let result = run(&v, request, started).await;
    v.stats.pending.fetch_sub(1, Relaxed);
    match &result {
        Ok(_) => v.stats.success.add(started.elapsed()),
        Err(e) => v.stats.record_failure(e.reason, started.elapsed()),
    }
    result
}

async fn run(v: &Version, request: InferRequest, started: Instant) -> ServeResult<InferResponse> {
    let sig = &v.signature;
    let model = &v.model;
    let mut inputs = request.inputs;
    if inputs.len() != 1 {
        return Err(ServeError::bad(format!(
            "model '{model}' takes one input, '{}', got {}",
            sig.input.name,
            inputs.len()
        )));
    }
    let input = inputs.remove(0);
    if input.name != sig.input.name {
        return Err(ServeError::bad(format!(
            "model '{model}' has no input '{}'; its input is '{}'",
            input.name, sig.input.name
        )));
    }
    let shape = &input.shape;
    // A BYTES input of one text per row may come as [B] or [B, 1].
    let dims_ok = match shape.split_first() {
        Some((_, rest)) => rest == sig.input.dims.as_slice() || (sig.input.dims.is_empty() && rest == [1]),
        None => false,
    };
    if !dims_ok {
        return Err(ServeError::bad(format!(
            "input '{}' of model '{model}' has shape {shape:?}; the model takes {:?}",
            input.name,
            sig.input.batched_shape()
        )));
    }
    let count = element_count(&input.name, shape)?;
    let rows = shape[0] as usize;
    if rows == 0 || rows > v.settings.max_batch_size {
        return Err(ServeError::bad(format!(
            "input '{}' has a batch of {rows}; model '{model}' takes 1 to {} (max_batch_size)",
            input.name, v.settings.max_batch_size
        )));
    }
    let wanted: Vec<(usize, Option<bool>)> = match &request.outputs {
        None => (0..sig.outputs.len()).map(|i| (i, None)).collect(),
        Some(list) => list
            .iter()
            .map(|o| {
                sig.outputs
                    .iter()
                    .position(|s| s.name == o.name)
                    .map(|i| (i, o.binary))
                    .ok_or_else(|| {
                        let names: Vec<_> = sig.outputs.iter().map(|s| s.name.as_str()).collect();
                        ServeError::bad(format!(
                            "model '{model}' has no output '{}'; its outputs are {names:?}",
                            o.name
                        ))
                    })
            })
            .collect::<ServeResult<_>>()?,
    };
    let decoded = decode(input, sig.input.datatype, count)?;
    let (reply, answer) = oneshot::channel();
    let timeout = Duration::from_millis(v.settings.timeout_ms);
    v.submit(Job {
        input: decoded,
        rows,
        enqueued: started,
        deadline: started + timeout,
        reply,
    })?;
    let outputs = answer
        .await
        .map_err(|_| ServeError::internal("the model's thread stopped before answering"))??;
    let outputs = wanted
        .into_iter()
        .map(|(i, binary)| {
            let spec = &sig.outputs[i];
            OutputTensor {
                name: spec.name.clone(),
                datatype: spec.datatype,
                shape: std::iter::once(rows as i64)
                    .chain(spec.dims.iter().copied())
                    .collect(),
                data: outputs[i].clone(),
                binary: binary.unwrap_or(request.binary_output),
            }
        })
        .collect();
    Ok(InferResponse {
        model_name: model.clone(),
        model_version: v.version_string(),
        id: request.id,
        outputs,
    })
}
