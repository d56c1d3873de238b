//! The protocol over gRPC (tonic), from our own `proto/inference.proto`: the same requests
//! as HTTP, with gRPC's status codes (`INVALID_ARGUMENT` where HTTP says 400, `NOT_FOUND`
//! for 404, `UNAVAILABLE` for 503, `INTERNAL` for 500). Inputs come as
//! `raw_input_contents` (one per input, in order) or typed contents; outputs go back as
//! `raw_output_contents`, as Triton's clients expect.

use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

use super::describe::{config_dims, config_type, platform, EXTENSIONS};
use super::error::{ErrorKind, ServeError};
use super::http::MAX_BODY;
use super::infer::{infer, InferRequest, RequestedOutput};
use super::repository::Version;
use super::tensors::{f32_bytes, InputTensor, RawData};
use super::Server;

/// Generated from `proto/inference.proto`; the field names are the specification's.
#[allow(clippy::enum_variant_names)]
pub mod proto {
    tonic::include_proto!("inference");
}

use proto::grpc_inference_service_server::{GrpcInferenceService, GrpcInferenceServiceServer};
use proto::*;

pub async fn serve(
    server: Arc<Server>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let service = GrpcInferenceServiceServer::new(Grpc { server })
        .max_decoding_message_size(MAX_BODY)
        .max_encoding_message_size(MAX_BODY);
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}

struct Grpc {
    server: Arc<Server>,
}

fn status(e: ServeError) -> Status {
    match e.kind {
        ErrorKind::BadRequest => Status::invalid_argument(e.message),
        ErrorKind::NotFound => Status::not_found(e.message),
        ErrorKind::Unavailable => Status::unavailable(e.message),
        ErrorKind::Internal => Status::internal(e.message),
    }
}

impl Grpc {
    fn log<T>(&self, method: &str, started: Instant, result: &Result<T, Status>) {
        if self.server.access_log {
            let code = match result {
                Ok(_) => "OK".to_string(),
                Err(s) => format!("{:?}", s.code()),
            };
            eprintln!(
                "grpc {method} {code} {:.3}ms",
                started.elapsed().as_secs_f64() * 1e3
            );
        }
    }

    fn version(&self, name: &str, version: &str) -> Result<Arc<Version>, Status> {
        self.server.repo.get(name, Some(version)).map_err(status)
    }
}

fn tensor_metadata(t: &super::backend::TensorSpec) -> model_metadata_response::TensorMetadata {
    model_metadata_response::TensorMetadata {
        name: t.name.clone(),
        datatype: t.datatype.to_string(),
        shape: t.batched_shape(),
    }
}

fn data_type(datatype: &str) -> i32 {
    match config_type(datatype) {
        "TYPE_FP32" => DataType::TypeFp32 as i32,
        "TYPE_STRING" => DataType::TypeString as i32,
        _ => DataType::TypeInvalid as i32,
    }
}

fn duration(d: &super::stats::Duration2) -> Option<StatisticDuration> {
    let (count, ns) = d.get();
    Some(StatisticDuration { count, ns })
}

fn statistics(v: &Version) -> ModelStatistics {
    let st = &v.stats;
    ModelStatistics {
        name: v.model.clone(),
        version: v.version_string(),
        last_inference: st.last_inference_ms.load(Relaxed),
        inference_count: st.inference_count.load(Relaxed),
        execution_count: st.execution_count.load(Relaxed),
        inference_stats: Some(InferStatistics {
            success: duration(&st.success),
            fail: duration(&st.fail),
            queue: duration(&st.queue),
            compute_input: duration(&st.compute_input),
            compute_infer: duration(&st.compute_infer),
            compute_output: duration(&st.compute_output),
            cache_hit: Some(StatisticDuration::default()),
            cache_miss: Some(StatisticDuration::default()),
        }),
        batch_stats: st
            .batches()
            .into_iter()
            .map(|(size, b)| InferBatchStatistics {
                batch_size: size as u64,
                compute_input: Some(StatisticDuration {
                    count: b.count,
                    ns: b.input_ns,
                }),
                compute_infer: Some(StatisticDuration {
                    count: b.count,
                    ns: b.infer_ns,
                }),
                compute_output: Some(StatisticDuration {
                    count: b.count,
                    ns: b.output_ns,
                }),
            })
            .collect(),
    }
}

fn to_request(r: ModelInferRequest) -> Result<InferRequest, ServeError> {
    let raw = r.raw_input_contents;
    if !raw.is_empty() && raw.len() != r.inputs.len() {
        return Err(ServeError::bad(format!(
            "the request has {} raw_input_contents for {} inputs; give one per input or none",
            raw.len(),
            r.inputs.len()
        )));
    }
    let mut raw = raw.into_iter();
    let inputs = r
        .inputs
        .into_iter()
        .map(|t| {
            let data = match raw.next() {
                Some(bytes) => RawData::Bytes(bytes),
                None => match t.contents {
                    Some(c) if !c.fp32_contents.is_empty() => RawData::Fp32(c.fp32_contents),
                    Some(c) if !c.bytes_contents.is_empty() => RawData::ByteStrings(c.bytes_contents),
                    _ => RawData::Missing,
                },
            };
            InputTensor {
                name: t.name,
                datatype: t.datatype,
                shape: t.shape,
                data,
            }
        })
        .collect();
    let outputs = if r.outputs.is_empty() {
        None
    } else {
        Some(
            r.outputs
                .into_iter()
                .map(|o| RequestedOutput {
                    name: o.name,
                    binary: None,
                })
                .collect(),
        )
    };
    Ok(InferRequest {
        id: r.id,
        inputs,
        outputs,
        binary_output: true,
    })
}

#[tonic::async_trait]
impl GrpcInferenceService for Grpc {
    async fn server_live(
        &self,
        _: Request<ServerLiveRequest>,
    ) -> Result<Response<ServerLiveResponse>, Status> {
        Ok(Response::new(ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _: Request<ServerReadyRequest>,
    ) -> Result<Response<ServerReadyResponse>, Status> {
        Ok(Response::new(ServerReadyResponse {
            ready: self.server.is_ready(),
        }))
    }

    async fn model_ready(
        &self,
        r: Request<ModelReadyRequest>,
    ) -> Result<Response<ModelReadyResponse>, Status> {
        let r = r.into_inner();
        let ready = self
            .server
            .repo
            .is_ready(&r.name, Some(&r.version))
            .map_err(status)?;
        Ok(Response::new(ModelReadyResponse { ready }))
    }

    async fn server_metadata(
        &self,
        _: Request<ServerMetadataRequest>,
    ) -> Result<Response<ServerMetadataResponse>, Status> {
        Ok(Response::new(ServerMetadataResponse {
            name: "ferrolab".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            extensions: EXTENSIONS.iter().map(|e| e.to_string()).collect(),
        }))
    }

    async fn model_metadata(
        &self,
        r: Request<ModelMetadataRequest>,
    ) -> Result<Response<ModelMetadataResponse>, Status> {
        let r = r.into_inner();
        let v = self.version(&r.name, &r.version)?;
        Ok(Response::new(ModelMetadataResponse {
            name: v.model.clone(),
            versions: vec![v.version_string()],
            platform: platform(&v),
            inputs: vec![tensor_metadata(&v.signature.input)],
            outputs: v.signature.outputs.iter().map(tensor_metadata).collect(),
        }))
    }

    async fn model_infer(
        &self,
        r: Request<ModelInferRequest>,
    ) -> Result<Response<ModelInferResponse>, Status> {
        let started = Instant::now();
        let r = r.into_inner();
        let (model, version) = (r.model_name.clone(), r.model_version.clone());
        let result = match to_request(r) {
            Ok(request) => infer(&self.server.repo, &model, Some(&version), request)
                .await
                .map_err(status),
            Err(e) => Err(status(e)),
        };
        let result = result.map(|out| {
            Response::new(ModelInferResponse {
                model_name: out.model_name,
                model_version: out.model_version,
                id: out.id,
                parameters: Default::default(),
                raw_output_contents: out.outputs.iter().map(|o| f32_bytes(&o.data)).collect(),
                outputs: out
                    .outputs
                    .into_iter()
                    .map(|o| model_infer_response::InferOutputTensor {
                        name: o.name,
                        datatype: o.datatype.to_string(),
                        shape: o.shape,
                        parameters: Default::default(),
                        contents: None,
                    })
                    .collect(),
            })
        });
        self.log("ModelInfer", started, &result);
        result
    }

    async fn model_config(
        &self,
        r: Request<ModelConfigRequest>,
    ) -> Result<Response<ModelConfigResponse>, Status> {
        let r = r.into_inner();
        let v = self.version(&r.name, &r.version)?;
        let s = &v.settings;
        let input = &v.signature.input;
        let config = ModelConfig {
            name: v.model.clone(),
            platform: platform(&v),
            backend: "ferrolab".into(),
            max_batch_size: s.max_batch_size as i32,
            input: vec![ModelInput {
                name: input.name.clone(),
                data_type: data_type(input.datatype),
                dims: config_dims(&input.dims),
            }],
            output: v
                .signature
                .outputs
                .iter()
                .map(|o| ModelOutput {
                    name: o.name.clone(),
                    data_type: data_type(o.datatype),
                    dims: o.dims.clone(),
                })
                .collect(),
            instance_group: vec![ModelInstanceGroup {
                name: v.model.clone(),
                count: s.instance_count as i32,
                kind: model_instance_group::Kind::Cpu as i32,
            }],
            dynamic_batching: (s.max_queue_delay_microseconds > 0).then(|| ModelDynamicBatching {
                preferred_batch_size: vec![],
                max_queue_delay_microseconds: s.max_queue_delay_microseconds,
                preserve_ordering: true,
            }),
        };
        Ok(Response::new(ModelConfigResponse { config: Some(config) }))
    }

    async fn model_statistics(
        &self,
        r: Request<ModelStatisticsRequest>,
    ) -> Result<Response<ModelStatisticsResponse>, Status> {
        let r = r.into_inner();
        let model_stats = if r.name.is_empty() {
            self.server.repo.loaded().iter().map(|v| statistics(v)).collect()
        } else {
            vec![statistics(&*self.version(&r.name, &r.version)?)]
        };
        Ok(Response::new(ModelStatisticsResponse { model_stats }))
    }

    async fn repository_index(
        &self,
        r: Request<RepositoryIndexRequest>,
    ) -> Result<Response<RepositoryIndexResponse>, Status> {
        let models = self
            .server
            .repo
            .index(r.into_inner().ready)
            .into_iter()
            .map(|e| repository_index_response::ModelIndex {
                name: e.name,
                version: e.version,
                state: e.state.into(),
                reason: e.reason,
            })
            .collect();
        Ok(Response::new(RepositoryIndexResponse { models }))
    }

    async fn repository_model_load(
        &self,
        r: Request<RepositoryModelLoadRequest>,
    ) -> Result<Response<RepositoryModelLoadResponse>, Status> {
        let started = Instant::now();
        let name = r.into_inner().model_name;
        let server = self.server.clone();
        let result = match tokio::task::spawn_blocking(move || server.repo.load(&name)).await {
            Ok(Ok(())) => Ok(Response::new(RepositoryModelLoadResponse {})),
            Ok(Err(e)) => Err(status(e)),
            Err(_) => Err(Status::internal("loading panicked")),
        };
        self.log("RepositoryModelLoad", started, &result);
        result
    }

    async fn repository_model_unload(
        &self,
        r: Request<RepositoryModelUnloadRequest>,
    ) -> Result<Response<RepositoryModelUnloadResponse>, Status> {
        self.server
            .repo
            .unload(&r.into_inner().model_name)
            .map_err(status)?;
        Ok(Response::new(RepositoryModelUnloadResponse {}))
    }
}
