//! Whether one endpoint serves the model: ModelReady, then ModelMetadata checked against
//! the local model; and what a failed call means (down for now, or refusing this
//! client whatever the moment).

use super::check::{Wire, check, describe_served};
use super::client::Client;
use super::proto::{ModelMetadataRequest, ModelReadyRequest};
use crate::core::backend::ModelInfo;

/// Why one endpoint cannot be used.
pub enum Refusal {
    /// Not reachable or not ready: retried later.
    Down(String),
    /// Its model takes or gives something else: a configuration error.
    Mismatch(String),
    /// It refused the client (the token, or a client certificate it requires), or
    /// the client refused it (its certificate did not verify).
    Refused(String),
    /// No answer before the deadline.
    Late,
}

/// What the client shows a server, for what a refusal means, and the input size asked
/// for (`input-size`), for a model the server describes.
#[derive(Debug, Clone, Copy)]
pub struct Credentials {
    pub token: bool,
    /// TLS without a client certificate.
    pub tls_without_identity: bool,
    pub input_size: Option<usize>,
}

/// A status that says the server (or a gateway before it) will not take this client,
/// whatever the moment: a missing or wrong token; or that its TLS certificate does not
/// verify, which waiting does not change either. None for other errors.
pub fn refusal(status: &tonic::Status, credentials: Credentials) -> Option<String> {
    let text = status_text(status);
    match status.code() {
        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied if credentials.token => Some(
            format!("the server rejected the bearer token of server-token-file ({text})"),
        ),
        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => Some(format!(
            "the server requires credentials: set server-token-file to a file holding its \
             bearer token ({text})"
        )),
        _ if certificate_rejected(&text) => Some(format!(
            "its TLS certificate did not verify against server-ca-file (or the system's \
             root certificates where server-ca-file is unset) and the endpoint's host name \
             ({text})"
        )),
        _ => None,
    }
}

/// rustls's words for a server certificate it did not accept.
fn certificate_rejected(text: &str) -> bool {
    [
        "invalid peer certificate",
        "certificate not valid for",
        "UnknownIssuer",
        "NotValidForName",
        "BadSignature",
    ]
    .iter()
    .any(|w| text.contains(w))
}

/// Why the endpoint could not be used, with a hint where the error hides its cause.
fn down_text(status: &tonic::Status, credentials: Credentials) -> String {
    let text = status_text(status);
    // A server that requires a client certificate ends the TLS connection of a client
    // without one. gRPC servers close it without an alert (TLS 1.3 ones may send
    // CertificateRequired), so the client sees only a closed connection.
    let closed = [
        "close_notify",
        "broken pipe",
        "connection reset",
        "connection closed",
        "CertificateRequired",
    ];
    if credentials.tls_without_identity && closed.iter().any(|c| text.contains(c)) {
        format!(
            "the server closed the TLS connection after the handshake, as servers that \
             require a client certificate (mutual TLS) do with clients without one: set \
             server-cert-file and server-key-file ({text})"
        )
    } else {
        text
    }
}

pub fn status_text(status: &tonic::Status) -> String {
    use std::error::Error;
    let mut text = format!("{:?}: {}", status.code(), status.message());
    // Transport errors put the cause (refused, reset, TLS) in the source chain.
    let mut source = status.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Each layer tends to repeat the one below's words.
        if !text.contains(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    text
}

/// ModelReady, then ModelMetadata checked against the local model; with none, the model
/// as the metadata describes it (`describe_served`) is returned, to check other
/// endpoints against.
pub async fn probe(
    client: &Client,
    model: &str,
    local: Option<&ModelInfo>,
    deadline: tokio::time::Instant,
    credentials: Credentials,
) -> Result<(Wire, Option<ModelInfo>), Refusal> {
    let ready = answer(
        deadline,
        credentials,
        client.clone().model_ready(ModelReadyRequest {
            name: model.to_string(),
            version: String::new(),
        }),
    )
    .await?;
    if !ready.ready {
        return Err(Refusal::Down(
            "the server does not have this model ready (wrong server-model, or still loading)"
                .to_string(),
        ));
    }
    let meta = answer(
        deadline,
        credentials,
        client.clone().model_metadata(ModelMetadataRequest {
            name: model.to_string(),
            version: String::new(),
        }),
    )
    .await?;
    match local {
        Some(local) => Ok((check(&meta, local).map_err(Refusal::Mismatch)?, None)),
        None => {
            let served =
                describe_served(&meta, credentials.input_size).map_err(Refusal::Mismatch)?;
            Ok((
                check(&meta, &served).map_err(Refusal::Mismatch)?,
                Some(served),
            ))
        }
    }
}

/// The answer to one call of the probe, or what its failure means.
async fn answer<T>(
    deadline: tokio::time::Instant,
    credentials: Credentials,
    call: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, Refusal> {
    match tokio::time::timeout_at(deadline, call).await {
        Err(_) => Err(Refusal::Late),
        Ok(Err(status)) => Err(match refusal(&status, credentials) {
            Some(why) => Refusal::Refused(why),
            None => Refusal::Down(down_text(&status, credentials)),
        }),
        Ok(Ok(response)) => Ok(response.into_inner()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate that does not verify is no outage: READY fails saying so.
    #[test]
    fn a_certificate_that_does_not_verify_is_a_refusal_and_a_reset_is_not() {
        let credentials = Credentials {
            token: false,
            tls_without_identity: true,
            input_size: None,
        };
        let status = tonic::Status::unavailable(
            "tcp connect error: invalid peer certificate: UnknownIssuer",
        );
        let why = refusal(&status, credentials).expect("a refusal");
        assert!(why.contains("certificate did not verify"), "{why}");
        assert!(why.contains("UnknownIssuer"), "{why}");
        let reset = tonic::Status::unavailable("connection reset by peer");
        assert_eq!(refusal(&reset, credentials), None);
    }
}
