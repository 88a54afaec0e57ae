//! What can be wrong with the Graph app's credentials: the credentials secret (its fields, or
//! reading it) and the certificate in it. The messages name the secret and the field, never a
//! value.

use super::store::StoreError;

/// Why the credentials secret cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("the credentials secret {secret_id} could not be read: {source}")]
    Unreadable { secret_id: String, source: StoreError },
    #[error("the credentials secret {secret_id} holds binary data; it must hold a JSON SecretString")]
    NotText { secret_id: String },
    #[error("the credentials secret {secret_id} is not a JSON object")]
    NotJson { secret_id: String },
    #[error("the credentials secret {secret_id} has no field {field}, or it is empty")]
    MissingField { secret_id: String, field: &'static str },
    #[error("the credentials secret {secret_id} has a field {field} that is not a string")]
    NotAString { secret_id: String, field: &'static str },
    #[error("the credentials secret {secret_id} has a field {field} that is not a valid {expected}")]
    Malformed {
        secret_id: String,
        field: &'static str,
        expected: &'static str,
    },
    #[error(
        "the credentials secret {secret_id} holds no credential: set clientSecret, or certificatePem and privateKeyPem"
    )]
    NoCredential { secret_id: String },
    #[error(
        "the credentials secret {secret_id} holds both clientSecret and certificatePem/privateKeyPem; keep exactly one credential"
    )]
    BothCredentials { secret_id: String },
    #[error("the credentials secret {secret_id}: {field} {source}")]
    Certificate {
        secret_id: String,
        field: &'static str,
        source: CertificateError,
    },
}

/// Which of the two PEM inputs an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Certificate,
    PrivateKey,
}

/// Why a certificate credential cannot be used. Each message reads after the name of the input
/// ("privateKeyPem holds an encrypted private key ...") and quotes none of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("holds no PEM block (-----BEGIN ...-----)")]
    NoPem(Part),
    #[error("holds a PEM block that is not complete base64 between its BEGIN and END lines")]
    BadPem(Part),
    #[error("holds no CERTIFICATE block")]
    NoCertificate,
    #[error("holds a CERTIFICATE block that is not a valid X.509 certificate")]
    BadCertificate,
    #[error("holds no PRIVATE KEY (PKCS#8) or RSA PRIVATE KEY (PKCS#1) block")]
    NoPrivateKey,
    #[error("holds more than one private key; keep only the certificate's")]
    SeveralPrivateKeys,
    #[error("holds an encrypted private key; store it unencrypted (the secret itself is encrypted at rest)")]
    EncryptedKey,
    #[error("holds a private key that is not an RSA key in PKCS#8 or PKCS#1 form")]
    BadPrivateKey,
    #[error("holds a {bits}-bit RSA key; Entra ID requires at least 2048 bits")]
    KeyTooSmall { bits: usize },
    #[error("holds a private key that does not match the certificate's public key")]
    KeyMismatch,
    #[error("could not be used to sign the client assertion")]
    Signing,
}

impl CertificateError {
    /// The input at fault.
    pub fn part(&self) -> Part {
        match self {
            CertificateError::NoPem(part) | CertificateError::BadPem(part) => *part,
            CertificateError::NoCertificate | CertificateError::BadCertificate => Part::Certificate,
            CertificateError::NoPrivateKey
            | CertificateError::SeveralPrivateKeys
            | CertificateError::EncryptedKey
            | CertificateError::BadPrivateKey
            | CertificateError::KeyTooSmall { .. }
            | CertificateError::KeyMismatch
            | CertificateError::Signing => Part::PrivateKey,
        }
    }
}
