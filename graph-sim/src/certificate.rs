//! Client certificates: the ones the simulated app registration holds (Entra's
//! key credentials, known by their SHA-256 thumbprint), and self-signed ones
//! made at run time for tests and the demo, so that no private key is ever
//! committed to the repository.

use std::fmt;
use std::str::FromStr as _;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use getrandom::SysRng;
use getrandom::rand_core::UnwrapErr;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::{DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::{PrivateKey, PublicKey};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder as _, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::der::{Decode as _, DecodePem as _, Encode as _, EncodePem as _};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfo, SubjectPublicKeyInfoRef};
use x509_cert::time::Validity;

/// A certificate the app registration holds: Entra matches an assertion's
/// `x5t#S256` header against these and verifies its signature with the key.
#[derive(Clone)]
pub(crate) struct RegisteredCertificate {
    pub thumbprint: String,
    pub key: PublicKey,
}

/// What [`crate::SimHandle::register_certificate`] says about DER that is
/// not an X.509 certificate with an RSA key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidCertificate;

impl fmt::Display for InvalidCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an X.509 certificate with an RSA public key")
    }
}

impl std::error::Error for InvalidCertificate {}

/// base64url (unpadded) of the SHA-256 of a certificate's DER: the `x5t#S256`
/// header value and what Entra shows as the key's identifier.
pub fn thumbprint_sha256(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(der))
}

impl RegisteredCertificate {
    pub(crate) fn from_der(der: &[u8]) -> Result<Self, InvalidCertificate> {
        let certificate = Certificate::from_der(der).map_err(|_| InvalidCertificate)?;
        let spki = certificate
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|_| InvalidCertificate)?;
        let key = PublicKey::from_public_key_der(&spki).map_err(|_| InvalidCertificate)?;
        Ok(RegisteredCertificate {
            thumbprint: thumbprint_sha256(der),
            key,
        })
    }

    pub(crate) fn from_pem(pem: &str) -> Result<Self, InvalidCertificate> {
        let certificate = Certificate::from_pem(pem).map_err(|_| InvalidCertificate)?;
        let der = certificate.to_der().map_err(|_| InvalidCertificate)?;
        Self::from_der(&der)
    }
}

/// A self-signed RSA certificate and its key, made on the spot. For tests
/// and the demo only: the key is kept in plain memory.
pub struct TestCertificate {
    der: Vec<u8>,
    certificate_pem: String,
    private_key_pem: String,
    private_key_pkcs1_pem: String,
    signing_key: rsa::pss::SigningKey<Sha256>,
    pkcs1v15_key: rsa::pkcs1v15::SigningKey<Sha256>,
}

impl fmt::Debug for TestCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCertificate")
            .field("x5t#S256", &self.thumbprint_sha256())
            .finish_non_exhaustive()
    }
}

/// A profile without extensions: Entra needs only the key and the thumbprint.
struct SelfSigned(Name);

impl BuilderProfile for SelfSigned {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.0.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(Vec::new())
    }
}

impl TestCertificate {
    /// A 2048-bit key and a certificate for `CN=<common_name>` valid for a year.
    ///
    /// # Panics
    /// When the system's random source fails or `common_name` is not a valid
    /// name component: this is test tooling.
    pub fn generate(common_name: &str) -> TestCertificate {
        Self::generate_with_bits(common_name, 2048)
    }

    /// As [`generate`](Self::generate), with a key of `bits` bits (tests of
    /// keys Entra would refuse).
    ///
    /// # Panics
    /// As [`generate`](Self::generate).
    pub fn generate_with_bits(common_name: &str, bits: usize) -> TestCertificate {
        let key = PrivateKey::new(&mut UnwrapErr(SysRng), bits).expect("RSA key generation");
        let signing_key = rsa::pss::SigningKey::<Sha256>::new(key.clone());
        let spki_der = key.to_public_key().to_public_key_der().expect("public key encodes");
        let spki = SubjectPublicKeyInfo::from_der(spki_der.as_bytes()).expect("public key decodes");
        let name = Name::from_str(&format!("CN={common_name}")).expect("a valid common name");
        let serial = SerialNumber::from(rand::random::<u64>());
        let validity = Validity::from_now(Duration::from_secs(365 * 24 * 3600)).expect("validity");
        let certificate = CertificateBuilder::new(SelfSigned(name), serial, validity, spki)
            .expect("certificate builder")
            .build::<_, rsa::pss::Signature>(&signing_key)
            .expect("certificate signs");
        let der = certificate.to_der().expect("certificate encodes");
        let certificate_pem = certificate.to_pem(LineEnding::LF).expect("certificate PEM");
        let private_key_pem = key.to_pkcs8_pem(LineEnding::LF).expect("PKCS#8 PEM").to_string();
        let private_key_pkcs1_pem = key.to_pkcs1_pem(LineEnding::LF).expect("PKCS#1 PEM").to_string();
        TestCertificate {
            der,
            certificate_pem,
            private_key_pem,
            private_key_pkcs1_pem,
            signing_key,
            pkcs1v15_key: rsa::pkcs1v15::SigningKey::<Sha256>::new(key),
        }
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The key as PKCS#8 (`-----BEGIN PRIVATE KEY-----`).
    pub fn private_key_pem(&self) -> &str {
        &self.private_key_pem
    }

    /// The key as PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`).
    pub fn private_key_pkcs1_pem(&self) -> &str {
        &self.private_key_pkcs1_pem
    }

    /// The certificate followed by its key, as one file for `AZURE_CLIENT_CERTIFICATE_PATH`.
    pub fn combined_pem(&self) -> String {
        format!("{}{}", self.certificate_pem, self.private_key_pem)
    }

    pub fn thumbprint_sha256(&self) -> String {
        thumbprint_sha256(&self.der)
    }

    /// A compact JWS of `header` and `claims` signed with this key: PS256
    /// unless the header's `alg` is RS256. Tests use it to build assertions
    /// that are wrong in exactly one way.
    ///
    /// # Panics
    /// When signing fails (test tooling).
    pub fn sign_jwt(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = if header["alg"] == "RS256" {
            self.pkcs1v15_key.try_sign(input.as_bytes()).expect("signs").to_vec()
        } else {
            self.signing_key.try_sign(input.as_bytes()).expect("signs").to_vec()
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}
