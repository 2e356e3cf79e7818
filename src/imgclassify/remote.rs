//! NULL→READY with `inference-server` set: the model file's metadata locally, the model
//! itself on the servers, and the warnings and errors a user needs to fix either.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::CAT;
use super::request::{LoadRequest, engine_error};
use crate::backend::Backend;
use crate::backend::onnxruntime::{EngineOptions, describe};
use crate::backend::remote::{Remote, RemoteError, RemoteOptions, parse_endpoints, unencrypted};

pub struct Connected {
    pub backend: Arc<dyn Backend>,
    pub warm_row: Vec<f32>,
    pub per_image: Duration,
}

pub fn connect(
    element: &super::ImgClassify,
    request: &LoadRequest,
    path: Option<&Path>,
    options: &EngineOptions,
) -> Result<Connected, gst::ErrorMessage> {
    let settings =
        |e: &dyn std::fmt::Display| gst::error_msg!(gst::LibraryError::Settings, ("{}", e));
    let endpoints = parse_endpoints(&request.server.endpoints).map_err(|e| settings(&e))?;
    // Preprocessing, labels and the class count come from the local file's metadata;
    // without one, from the server's metadata and the element's properties.
    let local = match path {
        Some(path) => Some(describe(path, options).map_err(engine_error)?),
        None => None,
    };
    let Some(model) = request
        .server
        .model
        .clone()
        .or_else(|| local.as_ref().map(|l| l.name.clone()))
    else {
        return Err(settings(
            &"server-model: set it to the model's name on the server",
        ));
    };
    let plain = unencrypted(&endpoints);
    if !plain.is_empty() {
        gst::element_warning!(
            element,
            gst::ResourceError::Settings,
            (
                "frames travel unencrypted to {}: use grpcs:// for servers on other machines",
                plain
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        );
    }
    // TLS files with no grpcs:// endpoint are a sign of a typo in the scheme.
    let tls_files = [
        ("server-ca-file", &request.server.ca_file),
        ("server-cert-file", &request.server.cert_file),
        ("server-key-file", &request.server.key_file),
    ];
    let unused: Vec<&str> = tls_files
        .iter()
        .filter(|(_, file)| file.is_some())
        .map(|(name, _)| *name)
        .collect();
    if !unused.is_empty() && !endpoints.iter().any(|e| e.tls) {
        gst::element_warning!(
            element,
            gst::ResourceError::Settings,
            (
                "{} set, but no endpoint is grpcs://: TLS is not used; write grpcs://HOST:PORT",
                unused.join(", ")
            )
        );
    }
    let remote_options = RemoteOptions {
        endpoints,
        model: model.clone(),
        timeout: Duration::from_millis(request.server.timeout_ms.max(1).into()),
        max_in_flight: request.server.max_in_flight.max(1) as usize,
        ca_file: request.server.ca_file.clone(),
        cert_file: request.server.cert_file.clone(),
        key_file: request.server.key_file.clone(),
        input_size: options.input_size,
        token_file: request.server.token_file.clone(),
    };
    let remote = Remote::connect(&remote_options, local).map_err(|e| match e {
        RemoteError::NoneReady { .. } => {
            gst::error_msg!(gst::ResourceError::OpenReadWrite, ("{}", e))
        }
        RemoteError::TlsFile { .. } | RemoteError::TokenFile { .. } => {
            gst::error_msg!(gst::ResourceError::OpenRead, ("{}", e))
        }
        RemoteError::Refused { .. } => {
            gst::error_msg!(gst::ResourceError::NotAuthorized, ("{}", e))
        }
        RemoteError::Runtime(_) => gst::error_msg!(gst::LibraryError::Init, ("{}", e)),
        _ => settings(&e),
    })?;
    if !remote.unready.is_empty() {
        gst::element_warning!(
            element,
            gst::ResourceError::OpenReadWrite,
            (
                "model '{}' is not ready on every inference server; they are retried: {}",
                model,
                remote.unready.join("; ")
            )
        );
    }
    // A first request, so the first frame is not slow and the scores' form is known; a
    // batch of two where the server takes batches, as the in-process warm-up does.
    let info = remote.info().clone();
    let images = if info.batchable { 2 } else { 1 };
    let started = Instant::now();
    let scores = remote
        .run_within(
            &vec![0.0f32; images * info.spec.tensor.len()],
            images,
            remote.load_timeout(),
        )
        .map_err(|e| {
            // The error names the model and the endpoint.
            gst::error_msg!(gst::ResourceError::Read, ("{}", e))
        })?;
    let per_image = started.elapsed() / images as u32;
    gst::info!(
        CAT,
        obj = element,
        "model '{}' on {}: {} bytes per image on the wire, first answer from {} in {:?}",
        model,
        remote.provider(),
        remote.bytes_per_image(),
        scores.provider.as_deref().unwrap_or("?"),
        per_image
    );
    Ok(Connected {
        warm_row: scores.rows[..info.spec.classes.min(scores.rows.len())].to_vec(),
        per_image,
        backend: Arc::new(remote),
    })
}
