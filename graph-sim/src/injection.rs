//! The one place a queued [`Fault`] meets a request. The router hands every request that named
//! an endpoint here with the fault it drew (if any); this module decides what the fault does and
//! asks the service, through [`Service`], only for what differs between services: its answer
//! shape, its bodies, and which faults mean something to it.
//!
//! A fault a service has no answer for (a hook left at its `None` default) is consumed and the
//! request answered normally, as [`Fault`]'s documentation promises.

use axum::http::StatusCode;
use axum::response::Response;

use crate::fault::{Fault, RetryAfter};
use crate::reply;

/// When the `ProcessThen*` faults strike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProcessThen {
    /// Not meaningful: both are consumed and the request answered normally.
    Ignored,
    /// `ProcessThenDrop` drops the connection before any work (the service's work changes
    /// nothing); `ProcessThenStatus` is consumed.
    DropBeforeWork,
    /// Both wait for the work (a key regenerated, a token issued) to succeed, then replace its
    /// answer; a refused request keeps its refusal.
    AfterWork,
}

/// Which of the faults every service could answer a service does answer: the per-endpoint
/// differences that are yes or no.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Answers {
    pub delay: bool,
    pub malformed_body: bool,
    pub html_error_page: bool,
    pub process_then: ProcessThen,
}

/// How the successful answer is shaped: as normal, or as the token endpoint's faults ask.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Shape {
    /// `Fault::ExpiresIn`: this lifetime instead of the configured one.
    pub expires_in: Option<u64>,
    /// `Fault::WithoutExpiresIn`.
    pub without_expires_in: bool,
}

/// One simulated service as the fault layer sees it.
pub(crate) trait Service {
    /// Which of the common faults this service answers.
    const ANSWERS: Answers;

    /// Checks and serves the request: `Ok` with the success once the work is done, `Err` with
    /// the refusal when a check failed.
    async fn work(&self, shape: Shape) -> Result<Response, Response>;

    /// An answer carrying `body` in this service's content type and headers.
    fn reply(&self, status: StatusCode, body: String) -> Response;

    /// This service's headers on an answer it did not write (a gateway's HTML page).
    fn dress(&self, response: Response) -> Response {
        response
    }

    /// 429 (or the service's throttling answer) in its error shape.
    fn throttled(&self, _retry_after: Option<RetryAfter>) -> Option<Response> {
        None
    }

    /// `code` in the service's error shape.
    fn status(&self, _code: u16) -> Option<Response> {
        None
    }

    /// The successful body, of which `TruncatedBody` sends the first half.
    fn success_body(&self) -> Option<String> {
        None
    }

    /// Well-formed JSON in none of the service's documented shapes.
    fn unexpected_shape(&self) -> Option<String> {
        None
    }

    /// Graph's 401 for a good token, which stays revoked.
    fn token_revoked(&self) -> Option<Response> {
        None
    }

    /// Graph's 403 with this message.
    fn forbidden(&self, _message: &str) -> Option<Response> {
        None
    }

    /// Entra's 401 `invalid_client` although the secret was right.
    fn invalid_client(&self) -> Option<Response> {
        None
    }
}

/// Answers one request to `service`, suffering `fault`.
pub(crate) async fn answer<S: Service>(service: &S, fault: Option<Fault>) -> Response {
    let answers = S::ANSWERS;
    let mut shape = Shape::default();
    let instead = match &fault {
        None => None,
        // Answered the same way by every endpoint, before any service looks at the request.
        Some(Fault::Redirect { status, location }) => Some(reply::redirect(*status, location)),
        Some(Fault::OversizedBody { bytes, chunked }) => Some(reply::oversized(*bytes, *chunked)),
        Some(Fault::Delay(delay)) => {
            if answers.delay {
                tokio::time::sleep(*delay).await;
            }
            None
        }
        Some(Fault::TooManyRequests { retry_after }) => service.throttled(*retry_after),
        Some(Fault::Status(code)) => service.status(*code),
        Some(Fault::MalformedBody) => answers
            .malformed_body
            .then(|| service.reply(StatusCode::OK, reply::MALFORMED_BODY.to_owned())),
        Some(Fault::TruncatedBody) => service
            .success_body()
            .map(|body| service.reply(StatusCode::OK, reply::truncated(&body))),
        Some(Fault::HtmlErrorPage(code)) => answers
            .html_error_page
            .then(|| service.dress(reply::html_error_page(*code))),
        Some(Fault::UnexpectedShape) => service
            .unexpected_shape()
            .map(|body| service.reply(StatusCode::OK, body)),
        Some(Fault::TokenRevoked) => service.token_revoked(),
        Some(Fault::Forbidden { message }) => service.forbidden(message),
        Some(Fault::InvalidClient) => service.invalid_client(),
        Some(Fault::ProcessThenDrop) if answers.process_then == ProcessThen::DropBeforeWork => {
            Some(reply::dropped_connection())
        }
        Some(Fault::ProcessThenStatus(_) | Fault::ProcessThenDrop) => None,
        Some(Fault::WithoutExpiresIn) => {
            shape.without_expires_in = true;
            None
        }
        Some(Fault::ExpiresIn(seconds)) => {
            shape.expires_in = Some(*seconds);
            None
        }
    };
    if let Some(response) = instead {
        return response;
    }
    let after_work = answers.process_then == ProcessThen::AfterWork;
    match (fault, service.work(shape).await) {
        (_, Err(refusal)) => refusal,
        (Some(Fault::ProcessThenStatus(code)), Ok(success)) if after_work => service.status(code).unwrap_or(success),
        (Some(Fault::ProcessThenDrop), Ok(_)) if after_work => reply::dropped_connection(),
        (_, Ok(success)) => success,
    }
}
