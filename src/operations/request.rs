//! A request's parts as every front end can give them (a `{host}` path segment, the query's
//! values, a body), and the reading that all operations share: one value per parameter, a host
//! name percent-decoded before it is validated. What a valid value is, the domain says
//! ([`crate::sensors`], [`crate::candidates`]); this module only says where it comes from.

use crate::sensors::HostName;

/// The parts of a request an operation's input is read from; `'a` is the request's.
pub struct RequestParts<'q, 'a> {
    /// The `{host}` segment of the path, as sent (still percent-encoded).
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

    /// The host name of the `{host}` segment, percent-decoded first.
    pub fn host(&self) -> Result<HostName, InputError> {
        let decoded = self
            .host
            .and_then(percent_decode)
            .ok_or(crate::sensors::InputError::HostName)?;
        Ok(HostName::parse(&decoded)?)
    }
}

/// `%XX` escapes decoded; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded).ok()
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
    fn a_path_segment_is_percent_decoded_before_it_is_validated() {
        assert_eq!(host_of("DC1%2Econtoso.com").unwrap().as_str(), "DC1.contoso.com");
        for bad in ["dc%2F1", "dc%201", "dc%", "dc%zz", "dc%C3", "%00"] {
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
