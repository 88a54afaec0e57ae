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
    /// `LimitExceededException`: the secret holds as many versions as Secrets Manager allows
    /// (~100); it removes unlabelled versions once they are a day old (Secrets Manager quotas).
    #[error("Secrets Manager refused a new version: the secret holds its quota of versions ({message})")]
    QuotaExceeded { message: String },
    #[error("Secrets Manager refused the request ({code}): {message}")]
    Refused { code: String, message: String },
    #[error("Secrets Manager is unavailable ({0})")]
    Unavailable(String),
}

/// What a problem document says in place of the text AWS wrote: Secrets Manager's and KMS's
/// messages name the function's role session, secret ARNs and KMS keys, which are not the
/// caller's to learn. The log line of the same request keeps the text.
pub const WITHHELD: &str = "AWS's message is in the function's log line for this requestId";

impl StoreError {
    /// This error with any text AWS wrote replaced by [`WITHHELD`]; its code and kind stay.
    pub fn without_message(&self) -> StoreError {
        let withheld = || WITHHELD.to_owned();
        match self {
            StoreError::AccessDenied { code, .. } => StoreError::AccessDenied {
                code: code.clone(),
                message: withheld(),
            },
            StoreError::QuotaExceeded { .. } => StoreError::QuotaExceeded { message: withheld() },
            StoreError::Refused { code, .. } => StoreError::Refused {
                code: code.clone(),
                message: withheld(),
            },
            // No text of AWS's: the adapter's own words, or AWS's error code.
            StoreError::NotFound
            | StoreError::Throttled
            | StoreError::Timeout
            | StoreError::TokenConflict
            | StoreError::Unavailable(_) => self.clone(),
        }
    }

    /// Worth another attempt later (as opposed to a fault an operator must fix). The version
    /// quota is: unlabelled versions are removed once they are a day old.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Throttled | StoreError::Timeout | StoreError::Unavailable(_) | StoreError::QuotaExceeded { .. }
        )
    }
}
