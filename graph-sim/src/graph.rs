//! What every simulated Microsoft Graph operation shares: the bearer token check, the role
//! check, and how Graph meets the faults (its answer shape from [`crate::reply::graph`], a
//! revoked token's 401, a 403 with the fault's message, the `ProcessThen*` faults after the
//! work). The operations themselves are in [`crate::keys`] and [`crate::sensors`].

use axum::http::StatusCode;
use axum::response::Response;

use crate::fault::RetryAfter;
use crate::injection::{Answers, ProcessThen, Service, Shape};
use crate::reply::graph::{EXPIRED, GraphReply};
use crate::request::Incoming;
use crate::state::{Shared, TokenCheck};

/// One Graph request: the simulator, the request, and the ids its answer carries.
pub(crate) struct GraphRequest<'a> {
    pub shared: &'a Shared,
    pub req: &'a Incoming,
    pub reply: GraphReply,
}

impl<'a> GraphRequest<'a> {
    pub(crate) fn new(shared: &'a Shared, req: &'a Incoming) -> Self {
        GraphRequest {
            shared,
            req,
            reply: GraphReply::new(req),
        }
    }

    /// The roles of the request's bearer token, or Graph's 401; `not_a_jwt` is the message for
    /// a token that is not three dot-separated parts.
    #[expect(
        clippy::result_large_err,
        reason = "the refusal is the answer sent a moment later; boxing it would only add an allocation"
    )]
    pub(crate) fn roles(&self, not_a_jwt: &str) -> Result<Vec<String>, Response> {
        let Some(token) = self.req.bearer() else {
            return Err(self.reply.unauthenticated("Access token is empty."));
        };
        if token.split('.').count() != 3 {
            return Err(self.reply.unauthenticated(not_a_jwt));
        }
        match self.shared.check_token(token) {
            TokenCheck::Valid { roles } => Ok(roles),
            TokenCheck::NotIssuedHere => Err(self.reply.unauthenticated("Access token validation failure.")),
            TokenCheck::Expired | TokenCheck::Revoked => Err(self.reply.unauthenticated(EXPIRED)),
        }
    }

    /// `Ok` when `roles` hold `required`, the only role the operation accepts; else Graph's 403.
    #[expect(
        clippy::result_large_err,
        reason = "the refusal is the answer sent a moment later; boxing it would only add an allocation"
    )]
    pub(crate) fn require(&self, required: &str, roles: &[String]) -> Result<(), Response> {
        if roles.iter().any(|role| role == required) {
            Ok(())
        } else {
            Err(self.reply.missing_role(required, roles))
        }
    }
}

/// One Graph operation: its work and the bodies the faults copy or replace.
pub(crate) trait GraphOperation {
    /// Checks and serves the request (see [`Service::work`]).
    #[expect(
        clippy::result_large_err,
        reason = "the refusal is the answer sent a moment later; boxing it would only add an allocation"
    )]
    fn work(&self, graph: &GraphRequest<'_>) -> Result<Response, Response>;

    /// The successful body, for `TruncatedBody`.
    fn success_body(&self, graph: &GraphRequest<'_>) -> String;

    /// Well-formed JSON in none of the operation's shapes, for `UnexpectedShape`.
    fn unexpected_shape(&self, graph: &GraphRequest<'_>) -> String;
}

/// A Graph operation serving one request.
pub(crate) struct GraphService<'a, O> {
    pub graph: GraphRequest<'a>,
    pub operation: O,
}

impl<O: GraphOperation> Service for GraphService<'_, O> {
    const ANSWERS: Answers = Answers {
        delay: true,
        malformed_body: true,
        html_error_page: true,
        process_then: ProcessThen::AfterWork,
    };

    async fn work(&self, _shape: Shape) -> Result<Response, Response> {
        self.operation.work(&self.graph)
    }

    fn reply(&self, status: StatusCode, body: String) -> Response {
        self.graph.reply.respond(status, body)
    }

    fn dress(&self, response: Response) -> Response {
        self.graph.reply.stamp(response)
    }

    fn throttled(&self, retry_after: Option<RetryAfter>) -> Option<Response> {
        Some(self.graph.reply.throttled(retry_after))
    }

    fn status(&self, code: u16) -> Option<Response> {
        Some(self.graph.reply.status(code))
    }

    fn success_body(&self) -> Option<String> {
        Some(self.operation.success_body(&self.graph))
    }

    fn unexpected_shape(&self) -> Option<String> {
        Some(self.operation.unexpected_shape(&self.graph))
    }

    fn token_revoked(&self) -> Option<Response> {
        if let Some(token) = self.graph.req.bearer() {
            self.graph.shared.revoke_token(token);
        }
        Some(self.graph.reply.unauthenticated(EXPIRED))
    }

    fn forbidden(&self, message: &str) -> Option<Response> {
        Some(self.graph.reply.error(StatusCode::FORBIDDEN, "Forbidden", message))
    }
}
