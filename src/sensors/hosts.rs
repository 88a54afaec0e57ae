//! Host names and which sensor a host name means: `displayName` is the server's short name, and
//! its fully qualified names are `displayName.domainName` and, for a domain controller sensor only,
//! `settings.domainControllerDnsNames` ([`Sensor::own_dns_names`]); for the other sensor types that
//! list names OTHER domain controllers, which must never find this sensor. The list's filter, the
//! verdict and the health issues match the same way.

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

    /// Whether `sensor` runs on this host, ignoring ASCII case: the name is the sensor's
    /// `displayName` (the server's short name, `DC1`) or one of the server's own fully qualified
    /// names ([`Sensor::own_dns_names`]), and a short name also matches their first label.
    pub fn matches(&self, sensor: &Sensor) -> bool {
        let wanted = self.0.as_str();
        let same = |name: &str| name.eq_ignore_ascii_case(wanted);
        sensor.display_name.as_deref().is_some_and(same) || self.names_one_of(&sensor.own_dns_names())
    }

    /// Whether this is one of `dns_names`, or (a short name) the first label of one, ignoring
    /// ASCII case.
    pub fn names_one_of(&self, dns_names: &[String]) -> bool {
        let wanted = self.0.as_str();
        let same = |name: &str| name.eq_ignore_ascii_case(wanted);
        dns_names
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
            sensor_type: Some("domainControllerIntegrated".into()),
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

    fn of_type(member: &str, name: &str, domain_controllers: &[&str]) -> Sensor {
        Sensor {
            display_name: Some(name.into()),
            domain_name: Some("contoso.com".into()),
            sensor_type: Some(member.into()),
            domain_controller_dns_names: domain_controllers.iter().map(|dc| (*dc).to_owned()).collect(),
            ..Sensor::default()
        }
    }

    #[test]
    fn only_a_domain_controller_sensors_list_of_domain_controllers_names_its_own_server() {
        // Every sensor type, each way: its own names find it, the other DCs it lists do not.
        for member in [
            "adfsIntegrated",
            "adcsIntegrated",
            "adConnectIntegrated",
            "domainControllerStandalone",
            "unknownFutureValue",
            "AdFsIntegrated",
        ] {
            let adfs1 = of_type(member, "ADFS1", &["dc1.contoso.com", "dc2.contoso.com"]);
            for name in ["adfs1", "ADFS1", "adfs1.contoso.com", "ADFS1.CONTOSO.COM"] {
                assert!(HostName::parse(name).unwrap().matches(&adfs1), "{member}: {name}");
            }
            for name in ["dc1", "dc1.contoso.com", "DC2", "dc2.contoso.com", "adfs1.fabrikam.com"] {
                assert!(!HostName::parse(name).unwrap().matches(&adfs1), "{member}: {name}");
            }
        }
        let mut no_type = of_type("x", "ADFS1", &["dc1.contoso.com"]);
        no_type.sensor_type = None;
        assert!(
            !HostName::parse("dc1").unwrap().matches(&no_type),
            "no type: not a DC's list"
        );

        let dc1 = of_type("domainControllerIntegrated", "DC1", &["dc1.corp.contoso.com"]);
        for name in ["dc1", "dc1.contoso.com", "dc1.corp.contoso.com"] {
            assert!(HostName::parse(name).unwrap().matches(&dc1), "{name}");
        }
        let filter = SensorFilter {
            host: Some(HostName::parse("dc1.contoso.com").unwrap()),
            ..SensorFilter::default()
        };
        let adfs1 = of_type("adfsIntegrated", "ADFS1", &["dc1.contoso.com"]);
        assert!(filter.matches(&dc1));
        assert!(!filter.matches(&adfs1), "the list's filter matches the same way");
    }
}
