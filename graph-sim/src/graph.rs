//! What every simulated Microsoft Graph operation shares: the bearer token check, the role
//! check, and how Graph meets the faults (its answer shape from [`crate::reply::graph`], a
//! revoked token's 401, a 403 with the fault's message, the `ProcessThen*` faults after the
//! work). The operations themselves are in [`crate::keys`], [`crate::sensors`],
//! [`crate::health`] and [`crate::candidates`].

use axum::http::StatusCode;
use axum::response::Response;

use crate::injection::{Answers, Call, Service, Shape};
use crate::reply::graph::{EXPIRED, GraphReply};
use crate::request::Incoming;
use crate::state::{Shared, TokenCheck};

/// One Graph request: the simulator, the request, and the ids its answer carries.
pub(crate) type GraphRequest<'a> = Call<'a, GraphReply>;

impl GraphRequest<'_> {
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

    /// `Ok` when `roles` hold one of `acceptable` (the permission map's order, least privileged
    /// first); else Graph's 403 naming the first as required and all as acceptable.
    #[expect(
        clippy::result_large_err,
        reason = "the refusal is the answer sent a moment later; boxing it would only add an allocation"
    )]
    pub(crate) fn require_any(&self, acceptable: &[&str], roles: &[String]) -> Result<(), Response> {
        if roles.iter().any(|role| acceptable.contains(&role.as_str())) {
            Ok(())
        } else {
            Err(self.reply.missing_roles(acceptable, roles))
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

/// A Graph operation as a service: the fault hooks every Graph operation shares.
pub(crate) struct Graph<O>(pub O);

impl<O: GraphOperation> Service for Graph<O> {
    type Dialect = GraphReply;
    const ANSWERS: Answers = Answers::EVERY;

    fn dialect(&self, _shared: &Shared, req: &Incoming) -> GraphReply {
        GraphReply::new(req)
    }

    async fn work(&self, graph: &GraphRequest<'_>, _shape: Shape) -> Result<Response, Response> {
        self.0.work(graph)
    }

    fn success_body(&self, graph: &GraphRequest<'_>) -> Option<String> {
        Some(self.0.success_body(graph))
    }

    fn unexpected_shape(&self, graph: &GraphRequest<'_>) -> Option<String> {
        Some(self.0.unexpected_shape(graph))
    }

    fn token_revoked(&self, graph: &GraphRequest<'_>) -> Option<Response> {
        if let Some(token) = graph.req.bearer() {
            graph.shared.revoke_token(token);
        }
        Some(graph.reply.unauthenticated(EXPIRED))
    }

    fn forbidden(&self, graph: &GraphRequest<'_>, message: &str) -> Option<Response> {
        Some(graph.reply.error(StatusCode::FORBIDDEN, "Forbidden", message))
    }

    fn unknown_segment(&self, graph: &GraphRequest<'_>) -> Option<Response> {
        let segment = graph.req.path.rsplit('/').find(|s| !s.is_empty()).unwrap_or_default();
        Some(graph.reply.unknown_segment(segment))
    }
}
