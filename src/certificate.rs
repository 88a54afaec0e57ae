//! The app's certificate credential: an X.509 certificate and its RSA private key, checked at load
//! time to belong together, and the signed client assertion (a JWT, RFC 7523) that proves
//! possession of the key to Entra ID, built as MSAL builds it: `PS256`, the certificate's SHA-256
//! thumbprint in `x5t#S256`, optionally the chain in `x5c`, and a fresh `jti` every time.
//!
//! Key material lives no longer than it must: the PEM text arrives in a [`SecretString`], the
//! base64 and DER of the key are decoded into [`Zeroizing`] buffers, and the parsed key
//! (`rsa::PrivateKey`) zeroizes itself on drop. Errors say which part is wrong, never a byte of
//! it. The PEM reader is lenient where real files are (text around the blocks, as
//! `openssl pkcs12` writes it, CRLF, any line width) and strict about what a block holds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use rsa::pss::SigningKey;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{PrivateKey, PublicKey};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use x509_cert::Certificate;
use x509_cert::der::{Decode as _, Encode as _};
use zeroize::Zeroizing;

pub use crate::upstream::{CertificateError, Part};

/// How long an assertion is valid: MSAL's value. Each token request signs a new one.
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(600);

/// `client_assertion_type` for a JWT bearer assertion (RFC 7523).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Entra ID refuses certificate keys shorter than this.
const MIN_KEY_BITS: usize = 2048;

/// A loaded certificate credential. `Debug` shows the thumbprint (public: Entra lists it) and
/// nothing of the key. Not `Clone`: it is shared behind an `Arc`, so the key exists once.
pub struct ClientCertificate {
    signing_key: SigningKey<Sha256>,
    /// base64url(SHA-256(certificate DER)): the `x5t#S256` header.
    thumbprint: String,
    /// Standard base64 of each certificate's DER, the app's own first: the `x5c` header, when the
    /// chain is to be sent (subject name / issuer authentication).
    chain: Option<Vec<String>>,
    /// The app certificate's `notAfter`: Entra refuses assertions signed for it after that.
    not_after: SystemTime,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.thumbprint)
            .field("sends_chain", &self.chain.is_some())
            .finish_non_exhaustive()
    }
}

/// One decoded PEM block. The DER is zeroized on drop: it may be a private key.
struct Block {
    label: String,
    encrypted_headers: bool,
    der: Zeroizing<Vec<u8>>,
}

impl ClientCertificate {
    /// From `certificate_pem` (the app's certificate and, optionally, the rest of its chain, as
    /// CERTIFICATE blocks in any order) and `private_key_pem` (one PKCS#8 or PKCS#1 RSA key).
    pub fn from_pem(
        certificate_pem: &SecretString,
        private_key_pem: &SecretString,
        send_chain: bool,
    ) -> Result<Self, CertificateError> {
        let certificates = certificate_blocks(&pem_blocks(certificate_pem.expose_secret(), Part::Certificate)?)?;
        let key = private_key(&pem_blocks(private_key_pem.expose_secret(), Part::PrivateKey)?)?;
        Self::assemble(certificates, key, send_chain)
    }

    /// From one PEM text holding both the certificate(s) and the key, as Azure's SDKs read
    /// `AZURE_CLIENT_CERTIFICATE_PATH`.
    pub fn from_combined_pem(pem: &SecretString, send_chain: bool) -> Result<Self, CertificateError> {
        let blocks = pem_blocks(pem.expose_secret(), Part::Certificate)?;
        let certificates = certificate_blocks(&blocks)?;
        let key = private_key(&blocks)?;
        Self::assemble(certificates, key, send_chain)
    }

    fn assemble(
        certificates: Vec<(Vec<u8>, PublicKey)>,
        key: PrivateKey,
        send_chain: bool,
    ) -> Result<Self, CertificateError> {
        let bits = key.size() * 8;
        if bits < MIN_KEY_BITS {
            return Err(CertificateError::KeyTooSmall { bits });
        }
        let public = key.to_public_key();
        // The app's certificate is the one the key belongs to; the others are its chain.
        let leaf = certificates
            .iter()
            .position(|(_, certificate_key)| *certificate_key == public)
            .ok_or(CertificateError::KeyMismatch)?;
        let leaf_der = &certificates[leaf].0;
        let not_after = Certificate::from_der(leaf_der)
            .map_err(|_| CertificateError::BadCertificate)?
            .tbs_certificate()
            .validity()
            .not_after
            .to_system_time();
        let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(leaf_der));
        let chain = send_chain.then(|| {
            std::iter::once(leaf_der)
                .chain(
                    certificates
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != leaf)
                        .map(|(_, (der, _))| der),
                )
                .map(|der| STANDARD.encode(der))
                .collect()
        });
        Ok(ClientCertificate {
            signing_key: SigningKey::new(key),
            thumbprint,
            chain,
            not_after,
        })
    }

    /// When the app's certificate expires (its `notAfter`).
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// Days from `now` until the certificate expires; negative once it has.
    pub fn days_to_expiry(&self, now: SystemTime) -> f64 {
        match self.not_after.duration_since(now) {
            Ok(left) => left.as_secs_f64() / 86_400.0,
            Err(past) => -(past.duration().as_secs_f64() / 86_400.0),
        }
    }

    /// The `x5t#S256` thumbprint Entra shows for the certificate (base64url of its SHA-256).
    pub fn thumbprint_sha256(&self) -> &str {
        &self.thumbprint
    }

    /// A client assertion for `client_id` at the token endpoint `audience`, valid from `now` for
    /// [`ASSERTION_LIFETIME`], with a fresh `jti`. It is a bearer credential for that time.
    pub fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: SystemTime,
    ) -> Result<SecretString, CertificateError> {
        let issued_at = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut header = json!({ "alg": "PS256", "typ": "JWT", "x5t#S256": self.thumbprint });
        if let Some(chain) = &self.chain {
            header["x5c"] = json!(chain);
        }
        let claims = json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + ASSERTION_LIFETIME.as_secs(),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .signing_key
            .try_sign(signing_input.as_bytes())
            .map_err(|_| CertificateError::Signing)?;
        Ok(SecretString::from(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )))
    }
}

/// The certificates among `blocks`, each with its DER and RSA public key.
fn certificate_blocks(blocks: &[Block]) -> Result<Vec<(Vec<u8>, PublicKey)>, CertificateError> {
    let certificates: Vec<_> = blocks
        .iter()
        .filter(|block| block.label == "CERTIFICATE")
        .map(|block| {
            let certificate = Certificate::from_der(&block.der).map_err(|_| CertificateError::BadCertificate)?;
            let spki = certificate
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .map_err(|_| CertificateError::BadCertificate)?;
            // A certificate for another key type cannot be the RSA key's: it will not match.
            let public = PublicKey::from_public_key_der(&spki).ok();
            Ok((block.der.to_vec(), public))
        })
        .collect::<Result<_, CertificateError>>()?;
    if certificates.is_empty() {
        return Err(CertificateError::NoCertificate);
    }
    Ok(certificates
        .into_iter()
        .filter_map(|(der, public)| public.map(|public| (der, public)))
        .collect())
}

/// The one RSA private key among `blocks`.
fn private_key(blocks: &[Block]) -> Result<PrivateKey, CertificateError> {
    let mut keys = blocks.iter().filter(|block| block.label.ends_with("PRIVATE KEY"));
    let block = keys.next().ok_or(CertificateError::NoPrivateKey)?;
    if keys.next().is_some() {
        return Err(CertificateError::SeveralPrivateKeys);
    }
    if block.encrypted_headers {
        return Err(CertificateError::EncryptedKey);
    }
    match block.label.as_str() {
        "PRIVATE KEY" => PrivateKey::from_pkcs8_der(&block.der).map_err(|_| CertificateError::BadPrivateKey),
        "RSA PRIVATE KEY" => PrivateKey::from_pkcs1_der(&block.der).map_err(|_| CertificateError::BadPrivateKey),
        "ENCRYPTED PRIVATE KEY" => Err(CertificateError::EncryptedKey),
        _ => Err(CertificateError::BadPrivateKey),
    }
}

/// Every `-----BEGIN X-----` ... `-----END X-----` block in `text`, decoded. Text outside blocks
/// is skipped; a block that does not end, or whose body is not base64, is an error.
fn pem_blocks(text: &str, part: Part) -> Result<Vec<Block>, CertificateError> {
    const BEGIN: &str = "-----BEGIN ";
    const DASHES: &str = "-----";
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line.strip_prefix(BEGIN).and_then(|rest| rest.strip_suffix(DASHES)) else {
            continue;
        };
        let end = format!("-----END {label}-----");
        // Sized once: a growing buffer would leave unzeroized copies of key base64 behind.
        let mut body = Zeroizing::new(String::with_capacity(text.len()));
        let mut encrypted_headers = false;
        let mut ended = false;
        for line in lines.by_ref() {
            if line == end {
                ended = true;
                break;
            }
            if line.starts_with(BEGIN) {
                break;
            }
            // RFC 1421 headers ("Proc-Type: 4,ENCRYPTED", "DEK-Info: ...") mark a legacy
            // encrypted key; base64 never contains a colon.
            if line.contains(':') {
                encrypted_headers |= line.starts_with("Proc-Type:") && line.contains("ENCRYPTED");
                continue;
            }
            body.push_str(line);
        }
        if !ended {
            return Err(CertificateError::BadPem(part));
        }
        let der = Zeroizing::new(
            STANDARD
                .decode(body.as_bytes())
                .map_err(|_| CertificateError::BadPem(part))?,
        );
        if der.is_empty() {
            return Err(CertificateError::BadPem(part));
        }
        blocks.push(Block {
            label: label.to_owned(),
            encrypted_headers,
            der,
        });
    }
    if blocks.is_empty() {
        return Err(CertificateError::NoPem(part));
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use graph_sim::TestCertificate;
    use rsa::signature::Verifier as _;
    use serde_json::Value;

    use super::*;

    fn app() -> &'static TestCertificate {
        static CERTIFICATE: OnceLock<TestCertificate> = OnceLock::new();
        CERTIFICATE.get_or_init(|| TestCertificate::generate("certificate-unit-test"))
    }

    fn other() -> &'static TestCertificate {
        static CERTIFICATE: OnceLock<TestCertificate> = OnceLock::new();
        CERTIFICATE.get_or_init(|| TestCertificate::generate("certificate-unit-test-ca"))
    }

    fn secret(text: &str) -> SecretString {
        SecretString::from(text)
    }

    fn load(certificate_pem: &str, key_pem: &str, send_chain: bool) -> Result<ClientCertificate, CertificateError> {
        ClientCertificate::from_pem(&secret(certificate_pem), &secret(key_pem), send_chain)
    }

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn the_assertion_is_a_ps256_jwt_as_msal_builds_it() {
        let loaded = load(app().certificate_pem(), app().private_key_pem(), false).unwrap();
        let audience = "https://login.microsoftonline.com/t/oauth2/v2.0/token";
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);

        let assertion = loaded.assertion("client-1", audience, now).unwrap();

        let parts: Vec<&str> = assertion.expose_secret().split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode(parts[0]);
        assert_eq!(header["alg"], "PS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["x5t#S256"], app().thumbprint_sha256().as_str());
        assert!(header.get("x5c").is_none(), "no chain unless asked for");
        let claims = decode(parts[1]);
        assert_eq!(claims["aud"], audience);
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["sub"], "client-1");
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["nbf"], 1_700_000_000);
        assert_eq!(claims["exp"], 1_700_000_600);
        assert!(uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).is_ok());
        let public = rsa::pkcs8::DecodePublicKey::from_public_key_der(
            &x509_cert::Certificate::from_der(app().der())
                .unwrap()
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .unwrap(),
        )
        .unwrap();
        let signature = rsa::pss::Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
        rsa::pss::VerifyingKey::<Sha256>::new(public)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("the signature verifies against the certificate's key");
    }

    #[test]
    fn every_assertion_has_a_fresh_jti() {
        let loaded = load(app().certificate_pem(), app().private_key_pkcs1_pem(), false).unwrap();
        let jti = |assertion: SecretString| decode(assertion.expose_secret().split('.').nth(1).unwrap())["jti"].clone();
        let first = jti(loaded.assertion("c", "aud", SystemTime::now()).unwrap());
        let second = jti(loaded.assertion("c", "aud", SystemTime::now()).unwrap());
        assert_ne!(first, second);
    }

    #[test]
    fn the_chain_is_sent_leaf_first_only_when_asked_for() {
        // The CA's certificate first in the file: the leaf is found by its key, not its place.
        let chain_pem = format!("{}{}", other().certificate_pem(), app().certificate_pem());
        let loaded = load(&chain_pem, app().private_key_pem(), true).unwrap();
        assert_eq!(loaded.thumbprint_sha256(), app().thumbprint_sha256());
        let assertion = loaded.assertion("c", "aud", SystemTime::now()).unwrap();
        let header = decode(assertion.expose_secret().split('.').next().unwrap());
        let x5c: Vec<&str> = header["x5c"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(x5c, [STANDARD.encode(app().der()), STANDARD.encode(other().der())]);
    }

    #[test]
    fn a_combined_file_with_text_around_the_blocks_crlf_and_long_lines_is_read() {
        let rewrap = |pem: &str| {
            // One base64 line per block, CRLF line ends, and openssl's "Bag Attributes" preamble.
            let mut out = String::from("Bag Attributes\r\n    localKeyID: 01 02 03\r\nsubject=/CN=x\r\n");
            let mut body = String::new();
            for line in pem.lines() {
                if line.starts_with("-----") {
                    if !body.is_empty() {
                        out.push_str(&body);
                        out.push_str("\r\n");
                        body.clear();
                    }
                    out.push_str(line);
                    out.push_str("\r\n");
                } else {
                    body.push_str(line);
                }
            }
            out
        };
        let text = format!("{}{}", rewrap(app().private_key_pem()), rewrap(app().certificate_pem()));
        let loaded = ClientCertificate::from_combined_pem(&secret(&text), false).unwrap();
        assert_eq!(loaded.thumbprint_sha256(), app().thumbprint_sha256());
    }

    #[test]
    fn a_key_that_is_not_the_certificates_is_refused_at_load_time() {
        let err = load(app().certificate_pem(), other().private_key_pem(), false).unwrap_err();
        assert_eq!(err, CertificateError::KeyMismatch);
        assert_eq!(err.part(), Part::PrivateKey);
    }

    #[test]
    fn encrypted_several_or_broken_keys_are_told_apart() {
        let certificate = app().certificate_pem();
        let encrypted_pkcs8 = app().private_key_pem().replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY");
        assert_eq!(
            load(certificate, &encrypted_pkcs8, false).unwrap_err(),
            CertificateError::EncryptedKey
        );
        let legacy = app().private_key_pkcs1_pem().replacen(
            "-----\n",
            "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n",
            1,
        );
        assert_eq!(
            load(certificate, &legacy, false).unwrap_err(),
            CertificateError::EncryptedKey
        );
        let two = format!("{}{}", app().private_key_pem(), other().private_key_pem());
        assert_eq!(
            load(certificate, &two, false).unwrap_err(),
            CertificateError::SeveralPrivateKeys
        );
        let ec = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----\n";
        assert_eq!(
            load(certificate, ec, false).unwrap_err(),
            CertificateError::BadPrivateKey
        );
        let garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            load(certificate, garbage, false).unwrap_err(),
            CertificateError::BadPrivateKey
        );
        assert_eq!(
            load(certificate, "", false).unwrap_err(),
            CertificateError::NoPem(Part::PrivateKey)
        );
        assert_eq!(
            load(certificate, certificate, false).unwrap_err(),
            CertificateError::NoPrivateKey
        );
    }

    #[test]
    fn broken_pem_and_certificates_are_told_apart() {
        let key = app().private_key_pem();
        let unterminated = app().certificate_pem().replace("-----END CERTIFICATE-----", "");
        assert_eq!(
            load(&unterminated, key, false).unwrap_err(),
            CertificateError::BadPem(Part::Certificate)
        );
        let not_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert_eq!(
            load(not_base64, key, false).unwrap_err(),
            CertificateError::BadPem(Part::Certificate)
        );
        let not_x509 = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(
            load(not_x509, key, false).unwrap_err(),
            CertificateError::BadCertificate
        );
        assert_eq!(load(key, key, false).unwrap_err(), CertificateError::NoCertificate);
        assert_eq!(
            load("plain text", key, false).unwrap_err(),
            CertificateError::NoPem(Part::Certificate)
        );
    }

    #[test]
    fn a_key_shorter_than_entra_accepts_is_refused() {
        let small = TestCertificate::generate_with_bits("small", 1024);
        let err = load(small.certificate_pem(), small.private_key_pem(), false).unwrap_err();
        assert_eq!(err, CertificateError::KeyTooSmall { bits: 1024 });
    }

    #[test]
    fn debug_output_shows_the_thumbprint_and_nothing_of_the_key() {
        let loaded = load(app().certificate_pem(), app().private_key_pem(), false).unwrap();
        let printed = format!("{loaded:?}");
        assert!(printed.contains(&app().thumbprint_sha256()), "{printed}");
        let key_body: String = app()
            .private_key_pem()
            .lines()
            .nth(1)
            .unwrap()
            .chars()
            .take(20)
            .collect();
        assert!(!printed.contains(&key_body), "{printed}");
    }
}
