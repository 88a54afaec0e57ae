//! The sensor routes' input from the HTTP request: query parameters and the verdict's path
//! segment, turned into the domain's validated types ([`crate::sensors`] says what a valid value
//! is; this module only says where it comes from). A parameter given twice is ambiguous, so
//! refused; parameters of other names are ignored.

use crate::sensors::{HostName, InputError, InstallOptions, KeyFilePath, ProxyUrl, SensorFilter};

/// `delayedUpdate`, `proxyUrl` and `accessKeyFile` (`values` gives every value of a name).
pub(super) fn install_options<'a>(values: impl Fn(&str) -> Vec<&'a str>) -> Result<InstallOptions, InputError> {
    let delayed_update = match single(&values, "delayedUpdate")? {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(InputError::DelayedUpdate),
    };
    let proxy_url = single(&values, "proxyUrl")?.map(ProxyUrl::parse).transpose()?;
    let access_key_file = single(&values, "accessKeyFile")?.map(KeyFilePath::parse).transpose()?;
    Ok(InstallOptions {
        delayed_update,
        proxy_url,
        access_key_file,
    })
}

/// `domainName` and `displayName` (a short or fully qualified host name); neither may be empty.
pub(super) fn sensor_filter<'a>(values: impl Fn(&str) -> Vec<&'a str>) -> Result<SensorFilter, InputError> {
    let text = |name: &'static str| match single(&values, name)? {
        Some("") => Err(InputError::Empty(name)),
        other => Ok(other),
    };
    Ok(SensorFilter {
        domain_name: text("domainName")?.map(str::to_owned),
        host: text("displayName")?.map(HostName::parse).transpose()?,
    })
}

/// The `{host}` of `/sensors/{host}/verdict`, percent-decoded first.
pub(super) fn host_from_path_segment(segment: &str) -> Result<HostName, InputError> {
    HostName::parse(&percent_decode(segment).ok_or(InputError::HostName)?)
}

/// The one value of a query parameter.
fn single<'a>(values: &impl Fn(&str) -> Vec<&'a str>, name: &'static str) -> Result<Option<&'a str>, InputError> {
    match values(name).as_slice() {
        [] => Ok(None),
        [value] => Ok(Some(value)),
        _ => Err(InputError::Repeated(name)),
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
mod tests {
    use super::*;

    fn query<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Vec<&'a str> + 'a {
        move |name| pairs.iter().filter(|(n, _)| *n == name).map(|(_, v)| *v).collect()
    }

    #[test]
    fn a_path_segment_is_percent_decoded_before_it_is_validated() {
        assert_eq!(
            host_from_path_segment("DC1%2Econtoso.com").unwrap().as_str(),
            "DC1.contoso.com"
        );
        for bad in ["dc%2F1", "dc%201", "dc%", "dc%zz", "dc%C3", "%00"] {
            assert_eq!(host_from_path_segment(bad), Err(InputError::HostName), "{bad}");
        }
    }

    #[test]
    fn install_options_come_from_the_query_and_other_parameters_are_ignored() {
        assert_eq!(install_options(query(&[])).unwrap(), InstallOptions::default());
        let options = install_options(query(&[
            ("delayedUpdate", "true"),
            ("proxyUrl", "http://proxy:8080"),
            ("accessKeyFile", r"C:\key.txt"),
            ("utm_source", "whatever\"; rm -rf"),
        ]))
        .unwrap();
        assert!(options.delayed_update);
        assert_eq!(options.proxy_url.unwrap().as_str(), "http://proxy:8080");
        assert_eq!(options.access_key_file.unwrap().as_str(), r"C:\key.txt");
        assert!(
            !install_options(query(&[("delayedUpdate", "false")]))
                .unwrap()
                .delayed_update
        );
    }

    #[test]
    fn bad_install_options_are_refused_by_name() {
        for value in ["TRUE", "1", "yes", ""] {
            assert_eq!(
                install_options(query(&[("delayedUpdate", value)])),
                Err(InputError::DelayedUpdate),
                "{value}"
            );
        }
        assert_eq!(
            install_options(query(&[("proxyUrl", "http://a b")])),
            Err(InputError::ProxyUrl)
        );
        assert_eq!(
            install_options(query(&[("accessKeyFile", "key.txt")])),
            Err(InputError::KeyFile)
        );
        assert_eq!(
            install_options(query(&[("delayedUpdate", "true"), ("delayedUpdate", "false")])),
            Err(InputError::Repeated("delayedUpdate"))
        );
    }

    #[test]
    fn the_filter_takes_a_domain_and_a_short_or_qualified_host_and_refuses_empty_values() {
        let filter = sensor_filter(query(&[
            ("domainName", "CONTOSO.com"),
            ("displayName", "dc1.contoso.com"),
        ]))
        .unwrap();
        assert_eq!(filter.domain_name.as_deref(), Some("CONTOSO.com"));
        assert_eq!(filter.host.unwrap().as_str(), "dc1.contoso.com");
        assert_eq!(
            sensor_filter(query(&[("domainName", "")])),
            Err(InputError::Empty("domainName"))
        );
        assert_eq!(
            sensor_filter(query(&[("displayName", "dc_1")])),
            Err(InputError::HostName)
        );
    }
}
