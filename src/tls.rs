//! The one rustls configuration every HTTPS client uses (Graph, Entra and, through
//! [`crate::secrets::http`], Secrets Manager): Mozilla's root certificates compiled in, so nothing
//! is read from disk at init, and ring as the crypto provider.

use std::sync::Arc;

pub fn client_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}
