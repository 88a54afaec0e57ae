//! Refusals decided from the request alone, before anything upstream is touched, and the problem
//! each one is.

use crate::operations::InputError;
use crate::problem::{Problem, ProblemType};

/// Why a request was refused before it reached an operation.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RequestError {
    #[error("the request carries no IAM caller identity; call the function URL with a SigV4-signed request")]
    Unauthenticated,
    #[error("the caller is not allowed to {0}")]
    NotAllowed(&'static str),
    #[error("no such route")]
    NotFound,
    /// The methods the path does take, for the `Allow` header.
    #[error("method not allowed; allowed: {0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("the request body exceeds {0} bytes")]
    TooLarge(usize),
    #[error(transparent)]
    Input(#[from] InputError),
}

impl From<&RequestError> for Problem {
    fn from(error: &RequestError) -> Self {
        let detail = error.to_string();
        match error {
            RequestError::Unauthenticated => Problem::new(ProblemType::Unauthenticated, detail),
            RequestError::NotAllowed(_) => Problem::new(ProblemType::Forbidden, detail),
            RequestError::NotFound => Problem::new(ProblemType::NotFound, detail),
            RequestError::MethodNotAllowed(allow) => {
                Problem::new(ProblemType::MethodNotAllowed, detail).with_allow(allow.clone())
            }
            RequestError::BadRequest(_) | RequestError::Input(_) => Problem::new(ProblemType::BadRequest, detail),
            RequestError::TooLarge(_) => Problem::new(ProblemType::PayloadTooLarge, detail),
        }
    }
}
