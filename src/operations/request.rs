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
