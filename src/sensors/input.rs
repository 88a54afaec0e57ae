//! Input refused before anything upstream is asked, for every value a sensor operation takes
//! (host names, the installer's switches, filters).

/// Input refused before anything upstream is asked. Messages never quote the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("delayedUpdate must be true or false")]
    DelayedUpdate,
    #[error(
        "the proxy URL must be an http:// or https:// URL of at most 2048 letters, digits and - . _ ~ : / [ ], with a host and no credentials, query, quotes, spaces or shell metacharacters"
    )]
    ProxyUrl,
    #[error("the sensor name must be a host name: 1 to 255 letters, digits, '-' or '.'")]
    HostName,
    #[error("the query parameter {0} is given more than once")]
    Repeated(&'static str),
    #[error("the query parameter {0} must not be empty")]
    Empty(&'static str),
    #[error(
        "the access key file must be an absolute Windows path (C:\\dir\\key.txt or \\\\server\\share\\key.txt) of at most 260 letters, digits, spaces and \\ : . _ -, not ending in \\"
    )]
    KeyFile,
    #[error(
        "the proxy user name must be DOMAIN\\user, as the installer documents it: a domain and a user of letters, digits and . _ - (at most 256 in all), one backslash between them"
    )]
    ProxyUserName,
    #[error("proxyUserName needs proxyUrl: the user is the proxy's")]
    ProxyUserWithoutProxy,
}
