//! The protocol over HTTP/REST (axum): health, metadata, inference with JSON or Triton's
//! binary tensors, gzip/deflate bodies, and the configuration, statistics and repository
//! extensions. Errors are `{"error": "…"}` with 400 (bad request), 404 (no such model or
//! version), 503 (not ready, queue full, timed out) or 500.
//!
//! Binary tensors: when the request has an `Inference-Header-Content-Length` header, the
//! body is that many bytes of JSON followed by the inputs' bytes, one input after another
//! in the order of the inputs whose `parameters.binary_data_size` says how many bytes are
//! theirs. Outputs asked for in binary (`binary_data` on the output, or
//! `binary_data_output` on the request) come back the same way. A body larger than
//! [`MAX_BODY`] (before or after decompression) is refused with 413.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use super::describe;
use super::error::{ServeError, ServeResult};
use super::infer::{infer, InferRequest, InferResponse, RequestedOutput};
use super::tensors::{f32_bytes, InputTensor, RawData};
use super::Server;

/// The largest request body, compressed or not: 64 MiB.
pub const MAX_BODY: usize = 64 << 20;

const HEADER_LENGTH: &str = "inference-header-content-length";

pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/v2", get(server_metadata))
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(ready))
        .route("/v2/models/stats", get(all_stats))
        // Each model route with and without `/versions/{version}`, to one handler.
        .route("/v2/models/{model}", get(model_metadata))
        .route("/v2/models/{model}/versions/{version}", get(model_metadata))
        .route("/v2/models/{model}/ready", get(model_ready))
        .route("/v2/models/{model}/versions/{version}/ready", get(model_ready))
        .route("/v2/models/{model}/config", get(model_config))
        .route("/v2/models/{model}/versions/{version}/config", get(model_config))
        .route("/v2/models/{model}/stats", get(model_stats))
        .route("/v2/models/{model}/versions/{version}/stats", get(model_stats))
        .route("/v2/models/{model}/infer", post(infer_http))
        .route("/v2/models/{model}/versions/{version}/infer", post(infer_http))
        .route("/v2/repository/index", post(repository_index))
        .route("/v2/repository/models/{model}/load", post(load))
        .route("/v2/repository/models/{model}/unload", post(unload))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(server.clone(), access_log))
        .with_state(server)
}

/// One line per request on stderr: method, path, status, milliseconds.
async fn access_log(State(server): State<Arc<Server>>, request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    if server.access_log {
        eprintln!(
            "http {method} {path} {} {:.3}ms",
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    response
}

fn error(e: ServeError) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(json!({"error": e.message}))).into_response()
}

fn reply(result: ServeResult<Value>) -> Response {
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => error(e),
    }
}

async fn not_found(request: Request) -> Response {
    error(ServeError::not_found(format!(
        "no endpoint {} {}",
        request.method(),
        request.uri().path()
    )))
}

async fn server_metadata() -> Response {
    axum::Json(describe::server_metadata()).into_response()
}

async fn live() -> StatusCode {
    StatusCode::OK
}

async fn ready(State(s): State<Arc<Server>>) -> StatusCode {
    if s.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// A model route's `{model}` and, when the path has one, `{version}`.
#[derive(serde::Deserialize)]
struct Target {
    model: String,
    version: Option<String>,
}

impl Target {
    fn get(&self, s: &Server) -> ServeResult<Arc<super::repository::Version>> {
        s.repo.get(&self.model, self.version.as_deref())
    }
}

async fn model_metadata(State(s): State<Arc<Server>>, Path(t): Path<Target>) -> Response {
    reply(t.get(&s).map(|v| describe::model_metadata(&v)))
}

async fn model_ready(State(s): State<Arc<Server>>, Path(t): Path<Target>) -> Response {
    match s.repo.is_ready(&t.model, t.version.as_deref()) {
        Ok(true) => StatusCode::OK.into_response(),
        Ok(false) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Err(e) => error(e),
    }
}

async fn model_config(State(s): State<Arc<Server>>, Path(t): Path<Target>) -> Response {
    reply(t.get(&s).map(|v| describe::model_config(&v)))
}

async fn all_stats(State(s): State<Arc<Server>>) -> Response {
    let stats: Vec<Value> = s.repo.loaded().iter().map(|v| describe::model_stats(v)).collect();
    axum::Json(json!({"model_stats": stats})).into_response()
}

async fn model_stats(State(s): State<Arc<Server>>, Path(t): Path<Target>) -> Response {
    reply(
        t.get(&s)
            .map(|v| json!({"model_stats": [describe::model_stats(&v)]})),
    )
}

async fn repository_index(State(s): State<Arc<Server>>, headers: HeaderMap, body: Bytes) -> Response {
    let result = (|| {
        let body = decompress(&headers, body)?;
        let ready_only = if body.iter().all(|b| b.is_ascii_whitespace()) {
            false
        } else {
            let v: Value = serde_json::from_slice(&body)
                .map_err(|e| ServeError::bad(format!("the body is not JSON: {e}")))?;
            v.get("ready").and_then(Value::as_bool).unwrap_or(false)
        };
        Ok(describe::index(&s.repo.index(ready_only)))
    })();
    reply(result)
}

async fn load(State(s): State<Arc<Server>>, Path(model): Path<String>) -> Response {
    let server = s.clone();
    let done = tokio::task::spawn_blocking(move || server.repo.load(&model)).await;
    match done {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(e)) => error(e),
        Err(_) => error(ServeError::internal("loading panicked")),
    }
}

async fn unload(State(s): State<Arc<Server>>, Path(model): Path<String>) -> Response {
    match s.repo.unload(&model) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => error(e),
    }
}

async fn infer_http(
    State(s): State<Arc<Server>>,
    Path(t): Path<Target>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = match decompress(&headers, body).and_then(|body| parse_infer(&headers, &body)) {
        Ok(r) => r,
        Err(e) => {
            // Counted against the model when there is one, as a bad request.
            if let Ok(v) = t.get(&s) {
                v.stats.record_failure(e.reason, std::time::Duration::ZERO);
            }
            return error(e);
        }
    };
    match infer(&s.repo, &t.model, t.version.as_deref(), request).await {
        Ok(response) => compress(&headers, encode_infer(response)),
        Err(e) => error(e),
    }
}

/// The body with its `Content-Encoding` (gzip or deflate) undone, at most [`MAX_BODY`] bytes.
fn decompress(headers: &HeaderMap, body: Bytes) -> ServeResult<Bytes> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity");
    let mut out = Vec::new();
    let limit = MAX_BODY as u64 + 1;
    let read = match encoding.trim().to_ascii_lowercase().as_str() {
        "identity" | "" => return Ok(body),
        "gzip" => flate2::read::GzDecoder::new(&body[..])
            .take(limit)
            .read_to_end(&mut out),
        "deflate" => flate2::read::ZlibDecoder::new(&body[..])
            .take(limit)
            .read_to_end(&mut out),
        other => {
            return Err(ServeError::bad(format!(
                "Content-Encoding '{other}' is not supported (gzip, deflate)"
            )))
        }
    };
    read.map_err(|e| ServeError::bad(format!("the {encoding} body does not decompress: {e}")))?;
    if out.len() > MAX_BODY {
        return Err(ServeError::bad(format!(
            "the body decompresses to more than {MAX_BODY} bytes"
        )));
    }
    Ok(Bytes::from(out))
}

/// The response compressed as the client's `Accept-Encoding` asks (gzip first, then deflate).
fn compress(headers: &HeaderMap, (mut response_headers, body): (HeaderMap, Vec<u8>)) -> Response {
    use std::io::Write;
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let wants = |name: &str| {
        accept
            .split(',')
            .any(|p| p.split(';').next().unwrap_or("").trim() == name)
    };
    let (encoding, body) = if wants("gzip") {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = e.write_all(&body);
        ("gzip", e.finish().unwrap_or_default())
    } else if wants("deflate") {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = e.write_all(&body);
        ("deflate", e.finish().unwrap_or_default())
    } else {
        return (response_headers, body).into_response();
    };
    response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    (response_headers, body).into_response()
}

fn field<'a>(obj: &'a Map<String, Value>, key: &str, what: &str) -> ServeResult<&'a Value> {
    obj.get(key)
        .ok_or_else(|| ServeError::bad(format!("{what} has no '{key}'")))
}

/// The JSON (and binary) request body as an [`InferRequest`].
fn parse_infer(headers: &HeaderMap, body: &[u8]) -> ServeResult<InferRequest> {
    let json_len = match headers.get(HEADER_LENGTH) {
        None => body.len(),
        Some(v) => {
            let n = v
                .to_str()
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .ok_or_else(|| ServeError::bad("Inference-Header-Content-Length is not a whole number"))?;
            if n > body.len() {
                return Err(ServeError::bad(format!(
                    "Inference-Header-Content-Length says {n} bytes of JSON but the body has {}",
                    body.len()
                )));
            }
            n
        }
    };
    let (head, mut binary) = body.split_at(json_len);
    let mut v: Value = serde_json::from_slice(head)
        .map_err(|e| ServeError::bad(format!("the request is not valid JSON: {e}")))?;
    let obj = v
        .as_object_mut()
        .ok_or_else(|| ServeError::bad("the request must be a JSON object"))?;
    let id = match obj.get("id") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(ServeError::bad("the request's 'id' must be a string")),
    };
    let params = obj.get("parameters").and_then(Value::as_object);
    let binary_output = params
        .and_then(|p| p.get("binary_data_output"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let inputs_json = obj
        .get_mut("inputs")
        .ok_or_else(|| ServeError::bad("the request has no 'inputs'"))?
        .as_array_mut()
        .ok_or_else(|| ServeError::bad("the request's 'inputs' must be an array"))?;
    let mut inputs = Vec::with_capacity(inputs_json.len());
    for (i, input) in inputs_json.iter_mut().enumerate() {
        let what = format!("input {i}");
        let o = input
            .as_object_mut()
            .ok_or_else(|| ServeError::bad(format!("{what} must be a JSON object")))?;
        let name = field(o, "name", &what)?
            .as_str()
            .ok_or_else(|| ServeError::bad(format!("{what}'s 'name' must be a string")))?
            .to_string();
        let what = format!("input '{name}'");
        let datatype = field(o, "datatype", &what)?
            .as_str()
            .ok_or_else(|| ServeError::bad(format!("{what}'s 'datatype' must be a string")))?
            .to_string();
        let shape = field(o, "shape", &what)?
            .as_array()
            .and_then(|a| a.iter().map(Value::as_i64).collect::<Option<Vec<i64>>>())
            .ok_or_else(|| ServeError::bad(format!("{what}'s 'shape' must be an array of integers")))?;
        let binary_size = o.get("parameters").and_then(|p| p.get("binary_data_size"));
        let data = match binary_size {
            Some(size) => {
                let size = size.as_u64().ok_or_else(|| {
                    ServeError::bad(format!("{what}'s binary_data_size must be a whole number"))
                })? as usize;
                if size > binary.len() {
                    return Err(ServeError::bad(format!(
                        "{what} has binary_data_size {size} but only {} bytes of binary data remain",
                        binary.len()
                    )));
                }
                let (mine, rest) = binary.split_at(size);
                binary = rest;
                RawData::Bytes(mine.to_vec())
            }
            // Taken, not cloned: the values are thousands of JSON numbers.
            None => RawData::Json(
                o.get_mut("data")
                    .map(Value::take)
                    .ok_or_else(|| ServeError::bad(format!("{what} has no 'data'")))?,
            ),
        };
        inputs.push(InputTensor {
            name,
            datatype,
            shape,
            data,
        });
    }
    if !binary.is_empty() {
        return Err(ServeError::bad(format!(
            "{} bytes follow the JSON that no input's binary_data_size claims",
            binary.len()
        )));
    }
    let outputs = match obj.get("outputs") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => Some(
            list.iter()
                .enumerate()
                .map(|(i, o)| {
                    let name = o.get("name").and_then(Value::as_str).ok_or_else(|| {
                        ServeError::bad(format!("requested output {i} has no string 'name'"))
                    })?;
                    let binary = o
                        .get("parameters")
                        .and_then(|p| p.get("binary_data"))
                        .and_then(Value::as_bool);
                    Ok(RequestedOutput {
                        name: name.to_string(),
                        binary,
                    })
                })
                .collect::<ServeResult<Vec<_>>>()?,
        ),
        Some(_) => return Err(ServeError::bad("the request's 'outputs' must be an array")),
    };
    Ok(InferRequest {
        id,
        inputs,
        outputs,
        binary_output,
    })
}

/// The response's headers and body: JSON, then the binary outputs' bytes if any.
fn encode_infer(r: InferResponse) -> (HeaderMap, Vec<u8>) {
    let mut binary = Vec::new();
    let outputs: Vec<Value> = r
        .outputs
        .iter()
        .map(|o| {
            let mut out = json!({"name": o.name, "datatype": o.datatype, "shape": o.shape});
            if o.binary {
                let bytes = f32_bytes(&o.data);
                out["parameters"] = json!({"binary_data_size": bytes.len()});
                binary.extend_from_slice(&bytes);
            } else {
                out["data"] = json!(o.data);
            }
            out
        })
        .collect();
    let mut head = json!({"model_name": r.model_name, "model_version": r.model_version, "outputs": outputs});
    if !r.id.is_empty() {
        head["id"] = json!(r.id);
    }
    let mut body = serde_json::to_vec(&head).unwrap_or_default();
    let mut headers = HeaderMap::new();
    if binary.is_empty() {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    } else {
        headers.insert(HEADER_LENGTH, HeaderValue::from(body.len()));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        body.extend_from_slice(&binary);
    }
    (headers, body)
}
