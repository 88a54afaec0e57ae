//! The HTTP front door: binds the loopback listener, sorts each request by its
//! path into the service that answers it (Entra, Graph, STS, IAM, the AWS
//! issuer) or the `/_sim` control routes, records and counts it, draws its
//! fault, adds the configured latency, and hands it with its fault to
//! [`crate::injection`], which calls the service.
//!
//! Entra and Graph requests go through one fallback handler rather than
//! axum routes, because both services answer unknown paths and wrong
//! methods in their own JSON, which axum's routing would preempt.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use tokio::net::TcpListener;

use crate::config::SimCloud;
use crate::discovery::Discovery;
use crate::entra::Token;
use crate::fault::Endpoint;
use crate::graph::Graph;
use crate::iam::Iam;
use crate::injection::answer;
use crate::issuer::{Issuer, IssuerDocument};
use crate::request::{Incoming, is_form};
use crate::state::{RecordedRequest, Shared};
use crate::sts::Sts;
use crate::{candidates, control, health, keys, sensors};

/// Token requests are a few hundred bytes; anything far larger is not a
/// client of these services.
const MAX_BODY_BYTES: usize = 1 << 20;

/// Binds the listener and spawns the server task; the caller keeps the
/// task's handle to stop it.
pub(crate) async fn spawn(
    addr: SocketAddr,
    make_shared: impl FnOnce(String) -> Shared,
) -> std::io::Result<(Arc<Shared>, SocketAddr, tokio::task::JoinHandle<()>)> {
    if !addr.ip().is_loopback() {
        // The control routes can rewrite the key and fault every request;
        // they must never be reachable from another machine.
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("graph-sim binds loopback addresses only, not {addr}"),
        ));
    }
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let shared = Arc::new(make_shared(format!("http://{local}")));
    let app = Router::new()
        .nest("/_sim", control::routes())
        .fallback(dispatch)
        .with_state(Arc::clone(&shared));
    let task = tokio::spawn(async move {
        // Accept errors are retried inside axum::serve; it only returns
        // when the task is aborted.
        let _ = axum::serve(listener, app).await;
    });
    Ok((shared, local, task))
}

/// Which service a path names.
enum Route {
    Token {
        tenant: String,
    },
    Discovery {
        tenant: String,
    },
    Sts,
    Iam,
    Issuer {
        account: String,
        document: IssuerDocument,
    },
    Sensors(sensors::Target),
    Health(health::Target),
    Candidates(candidates::Target),
    /// The key operations, and every other Graph path, which the key endpoints' parser
    /// answers in Graph's words (a bad version, an unknown segment).
    Graph(keys::Target),
}

impl Route {
    /// `cloud` decides which of the newer identity paths exist (the sensor candidates).
    fn parse(path: &str, cloud: SimCloud) -> Route {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            [tenant, "oauth2", "v2.0", "token"] => Route::Token {
                tenant: (*tenant).to_owned(),
            },
            [tenant, "v2.0", ".well-known", "openid-configuration"] => Route::Discovery {
                tenant: (*tenant).to_owned(),
            },
            ["sts"] => Route::Sts,
            ["iam"] => Route::Iam,
            ["aws-issuer", account, ".well-known", "openid-configuration"] => Route::Issuer {
                account: (*account).to_owned(),
                document: IssuerDocument::OpenIdConfiguration,
            },
            ["aws-issuer", account, ".well-known", "jwks.json"] => Route::Issuer {
                account: (*account).to_owned(),
                document: IssuerDocument::Jwks,
            },
            _ => match (sensors::Target::parse(&segments), health::Target::parse(&segments)) {
                (Some(target), _) => Route::Sensors(target),
                (None, Some(target)) => Route::Health(target),
                (None, None) => match candidates::Target::parse(&segments, |version, name| {
                    candidates::published(cloud, version, name)
                }) {
                    Some(target) => Route::Candidates(target),
                    None => Route::Graph(keys::Target::parse(&segments)),
                },
            },
        }
    }

    fn endpoint(&self) -> Option<Endpoint> {
        match self {
            Route::Token { .. } => Some(Endpoint::Token),
            Route::Discovery { .. } => Some(Endpoint::OpenIdConfiguration),
            Route::Sts => Some(Endpoint::WebIdentityToken),
            Route::Iam => Some(Endpoint::FederationInfo),
            Route::Issuer { .. } => Some(Endpoint::IssuerMetadata),
            Route::Sensors(target) => Some(target.endpoint()),
            Route::Health(target) => Some(target.endpoint()),
            Route::Candidates(target) => Some(target.endpoint()),
            Route::Graph(target) => target.endpoint(),
        }
    }
}

async fn dispatch(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES).await.unwrap_or_default();
    let route = Route::parse(parts.uri.path(), shared.fixed.cloud);
    let form = is_form(&parts.headers)
        .then(|| serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body).unwrap_or_default());
    let record = RecordedRequest {
        endpoint: route.endpoint(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        form: form.clone().unwrap_or_default(),
    };
    let (fault, latency) = shared.admit(record);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let incoming = Incoming {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        headers: parts.headers,
        query: parts.uri.query().map(str::to_owned),
        form,
        body: body.to_vec(),
    };
    let (shared, req) = (shared.as_ref(), &incoming);
    // Each service is the route's data; `answer` applies the fault and calls it.
    match route {
        Route::Token { tenant } => answer(&Token { tenant }, shared, req, fault).await,
        Route::Discovery { tenant } => answer(&Discovery { tenant }, shared, req, fault).await,
        Route::Sts => answer(&Sts, shared, req, fault).await,
        Route::Iam => answer(&Iam, shared, req, fault).await,
        Route::Issuer { account, document } => answer(&Issuer { account, document }, shared, req, fault).await,
        Route::Sensors(target) => answer(&Graph(target), shared, req, fault).await,
        Route::Health(target) => answer(&Graph(target), shared, req, fault).await,
        Route::Candidates(target) => answer(&Graph(target), shared, req, fault).await,
        Route::Graph(target) => answer(&Graph(target), shared, req, fault).await,
    }
}
