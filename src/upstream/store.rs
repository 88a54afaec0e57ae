//! What can go wrong with Secrets Manager, classified by AWS's error code.

/// Errors from the store, classified by AWS error code. Messages are AWS's own, which never
/// echo secret values.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    #[error("secret not found (or no version with the requested id and stage)")]
    NotFound,
    #[error("access denied by Secrets Manager or KMS ({code}): {message}")]
    AccessDenied { code: String, message: String },
    #[error("Secrets Manager throttled the request")]
    Throttled,
    #[error("Secrets Manager did not answer in time")]
    Timeout,
    #[error("the idempotency token was already used for a different value")]
    TokenConflict,
    #[error("Secrets Manager refused the request ({code}): {message}")]
    Refused { code: String, message: String },
    #[error("Secrets Manager is unavailable ({0})")]
    Unavailable(String),
}

impl StoreError {
    /// Worth another attempt later (as opposed to a fault an operator must fix).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Throttled | StoreError::Timeout | StoreError::Unavailable(_)
        )
    }
}
