//! The one place a queued [`Fault`] meets a request. The router hands every request that named
//! an endpoint here with the fault it drew (if any); this module decides what the fault does and
//! asks the service, through [`Service`], only for what differs between services: which faults
//! it answers ([`Answers`]), its answer shape ([`Dialect`]), and the bodies and refusals that
//! are its own.
//!
//! A fault a service does not answer is consumed and the request answered normally, as
//! [`Fault`]'s documentation promises.

use axum::http::StatusCode;
use axum::response::Response;

use crate::fault::Fault;
use crate::reply::{self, Dialect};
use crate::request::Incoming;
use crate::state::Shared;

/// One request on its way through a service: the simulator, the request, and the answer shape
/// whose ids (request id, trace id) the service's answer will carry, drawn once per request.
pub(crate) struct Call<'a, D> {
    pub shared: &'a Shared,
    pub req: &'a Incoming,
    pub reply: D,
}

/// When the `ProcessThen*` faults strike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProcessThen {
    /// Not answered: both are consumed and the request answered normally.
    Ignored,
    /// `ProcessThenDrop` drops the connection before any work (the service's work changes
    /// nothing); `ProcessThenStatus` is not answered.
    DropBeforeWork,
    /// Both wait for the work (a key regenerated, a token issued) to succeed, then replace its
    /// answer; a refused request keeps its refusal.
    AfterWork,
}

/// Which of the faults most services answer a service does answer: the per-endpoint
/// differences that are yes or no.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Answers {
    pub delay: bool,
    pub too_many_requests: bool,
    pub status: bool,
    pub malformed_body: bool,
    pub html_error_page: bool,
    pub process_then: ProcessThen,
}

impl Answers {
    /// Every one of them, the `ProcessThen*` faults after the work.
    pub(crate) const EVERY: Answers = Answers {
        delay: true,
        too_many_requests: true,
        status: true,
        malformed_body: true,
        html_error_page: true,
        process_then: ProcessThen::AfterWork,
    };

    /// Every one of them for a service whose work changes nothing: a `ProcessThenDrop` drops
    /// the connection before the work, and `ProcessThenStatus` is not answered.
    pub(crate) const EVERY_READ_ONLY: Answers = Answers {
        process_then: ProcessThen::DropBeforeWork,
        ..Answers::EVERY
    };

    /// None of them: only the faults every endpoint answers (a redirect, an oversized body).
    pub(crate) const NONE: Answers = Answers {
        delay: false,
        too_many_requests: false,
        status: false,
        malformed_body: false,
        html_error_page: false,
        process_then: ProcessThen::Ignored,
    };
}

/// How the successful answer is shaped: as normal, or as the token endpoint's faults ask.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Shape {
    /// `Fault::ExpiresIn`: this lifetime instead of the configured one.
    pub expires_in: Option<u64>,
    /// `Fault::WithoutExpiresIn`.
    pub without_expires_in: bool,
}

/// One simulated service, as the fault layer sees it: the route's data (a tenant, a target)
/// and the hooks below. The hooks that return an `Option` are the faults only some services
/// answer; `None`, their default, does not answer.
pub(crate) trait Service {
    /// The service's answer shape.
    type Dialect: Dialect;

    /// Which of the common faults this service answers.
    const ANSWERS: Answers;

    /// The answer shape for one request.
    fn dialect(&self, shared: &Shared, req: &Incoming) -> Self::Dialect;

    /// Checks and serves the request: `Ok` with the success once the work is done, `Err` with
    /// the refusal when a check failed.
    async fn work(&self, call: &Call<'_, Self::Dialect>, shape: Shape) -> Result<Response, Response>;

    /// The successful body, of which `TruncatedBody` sends the first half.
    fn success_body(&self, _call: &Call<'_, Self::Dialect>) -> Option<String> {
        None
    }

    /// Well-formed JSON in none of the service's documented shapes.
    fn unexpected_shape(&self, _call: &Call<'_, Self::Dialect>) -> Option<String> {
        None
    }

    /// Graph's 401 for a good token, which stays revoked.
    fn token_revoked(&self, _call: &Call<'_, Self::Dialect>) -> Option<Response> {
        None
    }

    /// Graph's 403 with this message.
    fn forbidden(&self, _call: &Call<'_, Self::Dialect>, _message: &str) -> Option<Response> {
        None
    }

    /// Graph's 400 for a path it does not know.
    fn unknown_segment(&self, _call: &Call<'_, Self::Dialect>) -> Option<Response> {
        None
    }

    /// Entra's 401 `invalid_client` although the secret was right.
    fn invalid_client(&self, _call: &Call<'_, Self::Dialect>) -> Option<Response> {
        None
    }
}

/// Answers one request to `service`, suffering `fault`.
pub(crate) async fn answer<S: Service>(service: &S, shared: &Shared, req: &Incoming, fault: Option<Fault>) -> Response {
    let answers = S::ANSWERS;
    let call = Call {
        shared,
        req,
        reply: service.dialect(shared, req),
    };
    let dialect = &call.reply;
    let mut shape = Shape::default();
    let instead = match &fault {
        None => None,
        // Answered the same way by every endpoint, before any service looks at the request.
        Some(Fault::Redirect { status, location }) => Some(reply::redirect(*status, location)),
        Some(Fault::OversizedBody { bytes, chunked }) => Some(reply::oversized(*bytes, *chunked)),
        Some(Fault::DenseCollection { bytes }) => Some(reply::dense_collection(*bytes)),
        Some(Fault::Delay(delay)) => {
            if answers.delay {
                tokio::time::sleep(*delay).await;
            }
            None
        }
        Some(Fault::TooManyRequests { retry_after }) => {
            answers.too_many_requests.then(|| dialect.throttled(*retry_after))
        }
        Some(Fault::Status(code)) => answers.status.then(|| dialect.status(*code)),
        Some(Fault::MalformedBody) => answers
            .malformed_body
            .then(|| dialect.respond(StatusCode::OK, reply::MALFORMED_BODY.to_owned())),
        Some(Fault::TruncatedBody) => service
            .success_body(&call)
            .map(|body| dialect.respond(StatusCode::OK, reply::truncated(&body))),
        Some(Fault::HtmlErrorPage(code)) => answers
            .html_error_page
            .then(|| dialect.dress(reply::html_error_page(*code))),
        Some(Fault::UnexpectedShape) => service
            .unexpected_shape(&call)
            .map(|body| dialect.respond(StatusCode::OK, body)),
        Some(Fault::TokenRevoked) => service.token_revoked(&call),
        Some(Fault::Forbidden { message }) => service.forbidden(&call, message),
        Some(Fault::InvalidClient) => service.invalid_client(&call),
        Some(Fault::UnknownSegment) => service.unknown_segment(&call),
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
    match (fault, service.work(&call, shape).await) {
        (_, Err(refusal)) => refusal,
        (Some(Fault::ProcessThenStatus(code)), Ok(_)) if after_work => dialect.status(code),
        (Some(Fault::ProcessThenDrop), Ok(_)) if after_work => reply::dropped_connection(),
        (_, Ok(success)) => success,
    }
}
