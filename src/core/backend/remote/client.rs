//! The gRPC client of one endpoint, with the bearer token every call carries.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::error::RemoteError;
use super::proto::grpc_inference_service_client::GrpcInferenceServiceClient;

pub type Client = GrpcInferenceServiceClient<InterceptedService<Channel, Bearer>>;

/// The largest answer the client decodes (tonic's default, set here so that the failover
/// can tell the client's refusal of a larger one from a server's refusal of a request:
/// no request reaches it, see `MESSAGE_LIMIT`). A classifier's scores are far smaller.
pub const ANSWER_LIMIT: usize = 4 << 20;

/// Adds `authorization: Bearer TOKEN` to every call when a token is set; the value is
/// marked sensitive so tonic and hyper never print it.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }
}

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// The token file's first line, as a header value.
pub fn bearer(path: Option<&std::path::Path>) -> Result<Bearer, RemoteError> {
    let Some(path) = path else {
        return Ok(Bearer(None));
    };
    let problem = |problem: String| RemoteError::TokenFile {
        path: path.display().to_string(),
        problem,
    };
    let bytes =
        crate::core::files::read_regular(path, 64 << 10).map_err(|e| problem(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| problem("not UTF-8 text".into()))?;
    let token = text.lines().next().unwrap_or("").trim();
    if token.is_empty() {
        return Err(problem("it is empty".into()));
    }
    // Never echo the value: only say what is wrong with it.
    let mut value = MetadataValue::try_from(format!("Bearer {token}"))
        .map_err(|_| problem("the token holds characters a header cannot carry".into()))?;
    value.set_sensitive(true);
    Ok(Bearer(Some(value)))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_file_gives_a_sensitive_header_and_errors_never_show_the_token() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cret-tok\nignored\n").expect("token file");
        let Bearer(Some(value)) = bearer(Some(&file)).expect("a token") else {
            panic!("no header");
        };
        assert_eq!(value.to_str().expect("ascii"), "Bearer s3cret-tok");
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("s3cret"));
        std::fs::write(&file, "bad\u{7f}token-s3cret\n").expect("token file");
        let e = bearer(Some(&file)).err().expect("refused").to_string();
        assert!(e.contains("characters") && !e.contains("s3cret"), "{e}");
        std::fs::write(&file, "\n").expect("token file");
        assert!(bearer(Some(&file)).is_err());
        assert!(bearer(None).expect("no token").0.is_none());
    }
}
