//! Why connecting to the inference servers at NULL→READY failed.

use super::endpoint::BadEndpoint;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(transparent)]
    Endpoint(#[from] BadEndpoint),
    #[error("inference-server: no endpoint given")]
    NoEndpoint,
    #[error("{property} '{path}': {problem}")]
    TlsFile {
        property: &'static str,
        path: String,
        problem: String,
    },
    #[error(
        "server-cert-file and server-key-file go together: set both for mutual TLS, or neither"
    )]
    HalfIdentity,
    #[error("server-token-file '{path}': {problem}")]
    TokenFile { path: String, problem: String },
    #[error("could not start the inference client's runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A server answered, but its model is not what the element expects.
    #[error("model '{model}' on {endpoint}: {problem}")]
    Mismatch {
        endpoint: String,
        model: String,
        problem: String,
    },
    /// A server refused the client's credentials (token, client certificate).
    #[error("model '{model}' on {endpoint}: {problem}")]
    Refused {
        endpoint: String,
        model: String,
        problem: String,
    },
    /// No endpoint is reachable and ready; one reason per endpoint.
    #[error("no inference server is ready for model '{model}': {}", reasons.join("; "))]
    NoneReady { model: String, reasons: Vec<String> },
}
