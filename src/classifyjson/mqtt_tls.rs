//! The rustls client configuration for `mqtts://`: the broker's certificate must verify
//! against `ca-file`, or the system's CA certificates when it is unset. There is no
//! switch to skip verification. The crypto provider is `ring`, chosen here explicitly so
//! that no process-wide default has to be installed.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

/// Far more than a system's whole CA bundle (about 200 KiB).
const MAX_CA_FILE_BYTES: u64 = 16 << 20;

pub fn client_config(ca_file: Option<&Path>) -> Result<ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let pem = crate::core::files::read_regular(path, MAX_CA_FILE_BYTES)
                .map_err(|e| format!("ca-file '{}' {e}", path.display()))?;
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<_, _>>()
                .map_err(|e| {
                    format!("cannot read CA certificates from '{}': {e}", path.display())
                })?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "'{}' holds no usable PEM certificate: set ca-file to the CA that signed the broker's certificate",
                    path.display()
                ));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err("no system CA certificates found (install ca-certificates) \
                            and ca-file is unset: set ca-file to the broker's CA"
                    .into());
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_an_error_naming_it() {
        let e = client_config(Some(Path::new("/no/such/ca.pem"))).unwrap_err();
        assert!(e.contains("/no/such/ca.pem"), "{e}");
        let empty =
            std::env::temp_dir().join(format!("imgclassify-empty-ca-{}.pem", std::process::id()));
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = client_config(Some(&empty)).unwrap_err();
        let _ = std::fs::remove_file(&empty);
        assert!(e.contains("no usable PEM certificate"), "{e}");
        let e = client_config(Some(Path::new("/dev/zero"))).unwrap_err();
        assert!(e.contains("'/dev/zero' is a character device"), "{e}");
    }
}
