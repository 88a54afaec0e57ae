//! Host names and which sensor a host name means: `displayName` is the server's short name and
//! `settings.domainControllerDnsNames` its fully qualified names, so a name matches either, and
//! the list's filter matches the same way.

use std::str::FromStr;

use super::input::InputError;
use super::model::Sensor;

/// A DNS name's limit.
const MAX_HOST_NAME: usize = 255;

/// A sensor's display name: a host name (`DC1`, `dc1.contoso.com`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostName(String);

impl HostName {
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.');
        if text.is_empty() || text.len() > MAX_HOST_NAME || !text.chars().all(allowed) {
            return Err(InputError::HostName);
        }
        Ok(HostName(text.to_owned()))
    }

    /// `dc1.contoso.com` rather than `DC1`.
    pub fn is_qualified(&self) -> bool {
        self.0.contains('.')
    }

    /// Whether `sensor` runs on this host, ignoring ASCII case: Graph's `displayName` is the
    /// server's short name (`DC1`) and its fully qualified names are in
    /// `settings.domainControllerDnsNames`, so a name matches either, and a short name also
    /// matches the first label of a DNS name.
    pub fn matches(&self, sensor: &Sensor) -> bool {
        let wanted = self.0.as_str();
        let same = |name: &str| name.eq_ignore_ascii_case(wanted);
        sensor.display_name.as_deref().is_some_and(same)
            || sensor
                .domain_controller_dns_names
                .iter()
                .any(|dns| same(dns) || (!self.is_qualified() && dns.split('.').next().is_some_and(same)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for HostName {
    type Err = InputError;

    fn from_str(text: &str) -> Result<Self, InputError> {
        HostName::parse(text)
    }
}

/// Which sensors to list: the domain must match exactly and the host as [`HostName::matches`]
/// says, both ignoring ASCII case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SensorFilter {
    pub domain_name: Option<String>,
    pub host: Option<HostName>,
}

impl SensorFilter {
    pub fn matches(&self, sensor: &Sensor) -> bool {
        let domain_matches = self.domain_name.as_deref().is_none_or(|wanted| {
            sensor
                .domain_name
                .as_deref()
                .is_some_and(|actual| actual.eq_ignore_ascii_case(wanted))
        });
        domain_matches && self.host.as_ref().is_none_or(|host| host.matches(sensor))
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::sensor;
    use super::*;
    #[test]
    fn host_names_are_letters_digits_dashes_and_dots_up_to_255() {
        assert!(HostName::parse("DC1").is_ok());
        assert!(HostName::parse("dc-01.corp.contoso.com").is_ok());
        assert!(HostName::parse(&"a".repeat(255)).is_ok());
        for bad in ["", "dc 1", "dc_1", "dc1/..", "dc1\"", "dc1%", "dé", &"a".repeat(256)] {
            assert_eq!(HostName::parse(bad), Err(InputError::HostName), "{bad:?}");
        }
    }

    #[test]
    fn the_filter_matches_exactly_ignoring_case() {
        let dc1 = sensor("DC1", "upToDate", "running", "healthy");
        let filter = SensorFilter {
            domain_name: Some("CONTOSO.com".into()),
            host: Some(HostName::parse("dc1").unwrap()),
        };
        assert!(filter.matches(&dc1));
        assert!(SensorFilter::default().matches(&dc1));
        let other = SensorFilter {
            host: Some(HostName::parse("DC").unwrap()),
            ..SensorFilter::default()
        };
        assert!(!other.matches(&dc1), "no prefix matches");
        assert!(!filter.matches(&Sensor::default()));
    }

    #[test]
    fn a_host_matches_the_display_name_or_a_dns_name_short_or_qualified_ignoring_case() {
        let dc1 = Sensor {
            display_name: Some("DC1".into()),
            domain_controller_dns_names: vec!["dc1.corp.contoso.com".into(), "dc1-alias.contoso.com".into()],
            ..Sensor::default()
        };
        for name in [
            "DC1",
            "dc1",
            "dc1.corp.contoso.com",
            "DC1.CORP.CONTOSO.COM",
            "dc1-alias.contoso.com",
            "DC1-ALIAS",
        ] {
            assert!(HostName::parse(name).unwrap().matches(&dc1), "{name}");
        }
        for name in ["dc", "dc1.contoso.com", "corp", "dc1.corp", "contoso.com", "dc2"] {
            assert!(!HostName::parse(name).unwrap().matches(&dc1), "{name}");
        }
        let filter = SensorFilter {
            host: Some(HostName::parse("dc1.corp.contoso.com").unwrap()),
            ..SensorFilter::default()
        };
        assert!(filter.matches(&dc1));
    }
}
