//! A request's parts as every front end can give them (a `{host}` path segment, the query's
//! values, a body), and the reading that all operations share: one value per parameter, a host
//! name validated as the front end decoded it. What a valid value is, the domain says
//! ([`crate::sensors`], [`crate::candidates`]); this module only says where it comes from.

use crate::sensors::HostName;

/// The parts of a request an operation's input is read from; `'a` is the request's.
pub struct RequestParts<'q, 'a> {
    /// The `{host}` segment of the path, percent-decoded once by the front end (the handler decodes
    /// a function URL's path; an HTTP API delivers it decoded).
    pub host: Option<&'a str>,
    /// Every value of a query parameter.
    pub query: &'q dyn Fn(&str) -> Vec<&'a str>,
    /// The body's bytes (empty when there is none).
    pub body: &'a [u8],
}

/// Input refused before anything upstream is asked. Messages name the parameter, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Sensor(#[from] crate::sensors::InputError),
    #[error(transparent)]
    Candidate(#[from] crate::candidates::InputError),
    /// A query parameter the route does not read: answering as if it were not there would hand
    /// back something the caller did not ask for (an install command without its proxy user).
    #[error("unknown query parameter {name}: this route takes {}", takes(declared))]
    UnknownParameter {
        /// The name as sent when it is a plain one, else a stand-in (a name is the caller's text).
        name: String,
        declared: &'static [&'static str],
    },
    /// `proxyUserPassword`: a password never travels in a URL, which every hop logs and caches.
    #[error(
        "proxyUserPassword is never taken in a URL; with proxyUserName the install commands read the proxy password from the environment variable {} on the server",
        crate::sensors::PROXY_PASSWORD_VARIABLE
    )]
    PasswordInUrl,
}

fn takes(declared: &[&str]) -> String {
    if declared.is_empty() {
        "none".to_owned()
    } else {
        declared.join(", ")
    }
}

/// Longer names than this are not shown back.
const MAX_SHOWN_NAME: usize = 64;

/// Refuses the first (by name) of `names` that is not in `declared`, exactly as spelt; the
/// installer's proxy password is refused by name whatever the route.
pub fn only_declared(names: &[&str], declared: &'static [&'static str]) -> Result<(), InputError> {
    if names.iter().any(|name| name.eq_ignore_ascii_case("proxyUserPassword")) {
        return Err(InputError::PasswordInUrl);
    }
    let mut unknown: Vec<&str> = names.iter().copied().filter(|name| !declared.contains(name)).collect();
    unknown.sort_unstable();
    match unknown.first() {
        None => Ok(()),
        Some(name) => {
            let plain = !name.is_empty()
                && name.len() <= MAX_SHOWN_NAME
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            Err(InputError::UnknownParameter {
                name: if plain {
                    (*name).to_owned()
                } else {
                    "(a name not shown: not letters, digits, '_', '-' or '.', or too long)".to_owned()
                },
                declared,
            })
        }
    }
}

impl<'a> RequestParts<'_, 'a> {
    /// The one value of query parameter `name`: none, or refused when it is given twice (which of
    /// the two was meant would be a guess).
    pub fn single(&self, name: &'static str) -> Result<Option<&'a str>, InputError> {
        match (self.query)(name).as_slice() {
            [] => Ok(None),
            [value] => Ok(Some(value)),
            _ => Err(crate::sensors::InputError::Repeated(name).into()),
        }
    }

    /// The host name of the `{host}` segment.
    pub fn host(&self) -> Result<HostName, InputError> {
        let segment = self.host.ok_or(crate::sensors::InputError::HostName)?;
        Ok(HostName::parse(segment)?)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sensors::InputError as Invalid;

    /// A query of these pairs, for the operations' input tests.
    pub(crate) fn query<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Vec<&'a str> + 'a {
        move |name| pairs.iter().filter(|(n, _)| *n == name).map(|(_, v)| *v).collect()
    }

    fn host_of(segment: &str) -> Result<HostName, InputError> {
        let nothing = query(&[]);
        RequestParts {
            host: Some(segment),
            query: &nothing,
            body: b"",
        }
        .host()
    }

    #[test]
    fn a_host_segment_is_validated_as_given_and_an_escape_left_in_it_is_refused() {
        assert_eq!(host_of("DC1.contoso.com").unwrap().as_str(), "DC1.contoso.com");
        for bad in ["DC1%2Econtoso.com", "dc/1", "dc 1", "dc%", ""] {
            assert_eq!(host_of(bad), Err(Invalid::HostName.into()), "{bad}");
        }
    }

    #[test]
    fn a_parameter_the_route_does_not_declare_is_refused_by_name_and_a_password_whatever_it_is() {
        let declared: &'static [&'static str] = &["delayedUpdate", "proxyUrl"];
        assert_eq!(only_declared(&["proxyUrl", "delayedUpdate"], declared), Ok(()));
        assert_eq!(only_declared(&[], &[]), Ok(()));
        let refused = only_declared(&["proxyUrl", "zeta", "ProxyUserName"], declared).unwrap_err();
        assert_eq!(
            refused,
            InputError::UnknownParameter {
                name: "ProxyUserName".into(),
                declared
            }
        );
        assert_eq!(
            refused.to_string(),
            "unknown query parameter ProxyUserName: this route takes delayedUpdate, proxyUrl"
        );
        assert!(
            only_declared(&["x"], &[])
                .unwrap_err()
                .to_string()
                .ends_with("takes none")
        );
        for password in ["proxyUserPassword", "ProxyUserPassword"] {
            assert_eq!(
                only_declared(&["proxyUrl", password], declared),
                Err(InputError::PasswordInUrl)
            );
        }
        let odd = only_declared(&["a\"b; secret=hunter2"], declared)
            .unwrap_err()
            .to_string();
        assert!(!odd.contains("hunter2") && !odd.contains('"'), "{odd}");
    }

    #[test]
    fn a_parameter_given_twice_is_refused_by_name() {
        let twice = query(&[("proxyUrl", "http://a"), ("proxyUrl", "http://b")]);
        let parts = RequestParts {
            host: None,
            query: &twice,
            body: b"",
        };
        assert_eq!(parts.single("proxyUrl"), Err(Invalid::Repeated("proxyUrl").into()));
        assert_eq!(parts.single("other"), Ok(None));
    }
}
