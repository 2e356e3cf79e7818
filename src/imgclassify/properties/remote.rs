//! Inference on a remote server instead of ONNX Runtime in the process.

use gst::glib;
use gst::prelude::*;

use super::*;

pub(super) fn properties() -> Vec<Property> {
    use glib::{ParamSpecString as Str, ParamSpecUInt as UInt};
    vec![
        prop(
            Str::builder("inference-server")
                .nick("Inference server")
                .blurb(&read_at_ready("Comma-separated grpc:// or grpcs:// endpoints of KServe v2 servers that run the model; empty = in process"))
                .build(),
            |s| s.written.inference_server.to_value(),
            |s, v| {
                let given = text("inference-server", v)?.unwrap_or_default();
                s.load.server.endpoints = parse_endpoints(&given)
                    .map_err(|e| format!("{e}; keeping '{}'", s.written.inference_server))?;
                s.written.inference_server = given.trim().to_string();
                Ok(())
            },
        ),
        prop(
            Str::builder("server-model")
                .nick("Server model")
                .blurb(&read_at_ready("The model's name on the inference server; empty = the model's own name"))
                .build(),
            |s| s.load.server.model.to_value(),
            |s, v| put(&mut s.load.server.model, optional("server-model", v)?),
        ),
        prop(
            UInt::builder("server-timeout")
                .nick("Server timeout")
                .blurb(&read_at_ready("Milliseconds a frame waits for the inference servers, retries included"))
                .minimum(1)
                .maximum(MAX_TIMEOUT_MS)
                .default_value(1000)
                .build(),
            |s| s.load.server.timeout_ms.to_value(),
            |s, v| put(&mut s.load.server.timeout_ms, get(v)?),
        ),
        prop(
            UInt::builder("max-in-flight")
                .nick("Maximum requests in flight")
                .blurb(&read_at_ready("Requests to the inference servers outstanding at once"))
                .minimum(1)
                .maximum(1024)
                .default_value(4)
                .build(),
            |s| s.load.server.max_in_flight.to_value(),
            |s, v| put(&mut s.load.server.max_in_flight, get(v)?),
        ),
        prop(
            Str::builder("server-ca-file")
                .nick("Server CA file")
                .blurb(&read_at_ready("PEM CA certificates grpcs:// servers are verified against; empty = the system's roots"))
                .build(),
            |s| s.load.server.ca_file.to_value(),
            |s, v| put(&mut s.load.server.ca_file, property::path(v)),
        ),
        prop(
            Str::builder("server-cert-file")
                .nick("Server client certificate file")
                .blurb(&read_at_ready("PEM client certificate for mutual TLS, with server-key-file"))
                .build(),
            |s| s.load.server.cert_file.to_value(),
            |s, v| put(&mut s.load.server.cert_file, property::path(v)),
        ),
        prop(
            Str::builder("server-key-file")
                .nick("Server client key file")
                .blurb(&read_at_ready("PEM private key of server-cert-file; never logged"))
                .build(),
            |s| s.load.server.key_file.to_value(),
            |s, v| put(&mut s.load.server.key_file, property::path(v)),
        ),
        prop(
            Str::builder("server-token-file")
                .nick("Server token file")
                .blurb(&read_at_ready("A file whose first line is a bearer token for the servers; never logged"))
                .build(),
            |s| s.load.server.token_file.to_value(),
            |s, v| put(&mut s.load.server.token_file, property::path(v)),
        ),
    ]
}
