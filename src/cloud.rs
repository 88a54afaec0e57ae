//! The national clouds: one home for the fixed table (each cloud's Graph root, Entra authority,
//! token scope and token-exchange audience), the API version, what a tenant's OpenID
//! configuration document says about its cloud, and the endpoints that follow once the cloud is
//! known.
//!
//! Each cloud has one Graph root, one Entra authority and one token scope, taken from the table
//! in [`Cloud`] and from nowhere else, so a token is only ever requested for, and sent to, a Graph
//! host this code knows. With `GRAPH_CLOUD=auto` the cloud is read from the tenant's document
//! ([`crate::graph`] fetches it and settles it once per cold start), whose values are mapped onto
//! that table; a document naming anything else is refused, not followed. `GRAPH_ENDPOINT` and
//! `AUTHORITY_HOST` replace the hosts (tests, proxies) but never the scope, which always follows
//! the cloud.

use url::Url;

/// A national cloud, which fixes both the Graph root and the Entra authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Global,
    UsGov,
    Dod,
}

/// `GRAPH_CLOUD`: a cloud named by the operator, or `auto` to take the tenant's own cloud from
/// its OpenID configuration document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudChoice {
    Auto,
    Fixed(Cloud),
}

impl Cloud {
    /// The `GRAPH_CLOUD` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsGov => "usgov",
            Cloud::Dod => "dod",
        }
    }

    /// Whether this is one of the US government clouds, where Graph offers fewer APIs.
    pub fn is_government(self) -> bool {
        matches!(self, Cloud::UsGov | Cloud::Dod)
    }

    /// The Graph root; the token scope is always `<this>/.default`, even when `GRAPH_ENDPOINT`
    /// redirects the traffic, because Entra issues tokens for the cloud's resource, not a host.
    pub fn graph_root(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGov => "https://graph.microsoft.us",
            Cloud::Dod => "https://dod-graph.microsoft.us",
        }
    }

    pub fn authority(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGov | Cloud::Dod => "https://login.microsoftonline.us",
        }
    }

    /// The `aud` Entra accepts in a federated client assertion (workload identity federation):
    /// one per Entra authority. Source: Microsoft Learn, "Configure an application to trust a
    /// managed identity" (audience table: public cloud, Fairfax), and MSAL.NET's
    /// `KnownCloudConfiguration` (`login.microsoftonline.us` -> `api://AzureADTokenExchangeUSGov`).
    pub fn token_exchange_audience(self) -> &'static str {
        match self {
            Cloud::Global => "api://AzureADTokenExchange",
            Cloud::UsGov | Cloud::Dod => "api://AzureADTokenExchangeUSGov",
        }
    }
}

/// The Graph API version the key endpoints are called on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    Beta,
    V1,
}

impl ApiVersion {
    pub fn path_segment(self) -> &'static str {
        match self {
            ApiVersion::Beta => "beta",
            ApiVersion::V1 => "v1.0",
        }
    }
}

/// Where calls go, before the tenant's cloud is known: the configured cloud (or `auto`), the API
/// version and the host overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphEndpoints {
    pub cloud: CloudChoice,
    pub api_version: ApiVersion,
    /// `GRAPH_ENDPOINT`: replaces the cloud's Graph root.
    pub graph_override: Option<String>,
    /// `AUTHORITY_HOST`: replaces the cloud's Entra authority.
    pub authority_override: Option<String>,
}

impl GraphEndpoints {
    /// Where the tenant's OpenID configuration is read: the authority override, else the
    /// configured cloud's authority, else (auto) the global one, which answers for every
    /// tenant of the Microsoft clouds it federates with, government ones included.
    pub fn discovery_authority(&self) -> &str {
        match (&self.authority_override, self.cloud) {
            (Some(authority), _) => authority,
            (None, CloudChoice::Fixed(cloud)) => cloud.authority(),
            (None, CloudChoice::Auto) => Cloud::Global.authority(),
        }
    }

    /// The hosts and scope for a tenant in `cloud`.
    pub fn for_cloud(&self, cloud: Cloud) -> CloudEndpoints {
        let root = self.graph_override.as_deref().unwrap_or(cloud.graph_root());
        CloudEndpoints {
            cloud,
            graph_base: format!("{root}/{}", self.api_version.path_segment()),
            authority: self
                .authority_override
                .clone()
                .unwrap_or_else(|| cloud.authority().to_owned()),
            scope: format!("{}/.default", cloud.graph_root()),
        }
    }

    /// The hosts of the configured cloud; `None` for `auto`, where they wait on discovery.
    pub fn fixed(&self) -> Option<CloudEndpoints> {
        match self.cloud {
            CloudChoice::Fixed(cloud) => Some(self.for_cloud(cloud)),
            CloudChoice::Auto => None,
        }
    }
}

/// The hosts of one cloud, overrides applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudEndpoints {
    pub cloud: Cloud,
    /// Graph root plus API version, e.g. `https://graph.microsoft.us/beta`: the only place a
    /// token is sent.
    pub graph_base: String,
    /// Entra authority, e.g. `https://login.microsoftonline.us`.
    pub authority: String,
    /// The token scope, always the cloud's own, e.g. `https://graph.microsoft.us/.default`.
    pub scope: String,
}

impl CloudEndpoints {
    pub fn token_url(&self, tenant_id: &str) -> String {
        format!("{}/{tenant_id}/oauth2/v2.0/token", self.authority)
    }

    /// Whether `url` lies under the Graph base: same scheme, host and port, no user info, and a
    /// path under the base's. Compared after URL parsing, so case, default ports and dot segments
    /// cannot disguise another origin.
    pub fn holds(&self, url: &str) -> bool {
        match (self.base_url(), Url::parse(url)) {
            (Some(base), Ok(url)) => under(&base, &url),
            _ => false,
        }
    }

    /// The Graph base as a parsed URL with a closing `/`, for [`under`].
    pub fn base_url(&self) -> Option<Url> {
        Url::parse(&format!("{}/", self.graph_base)).ok()
    }
}

/// Whether `url` lies under `base` (a [`CloudEndpoints::base_url`]): the rule of
/// [`CloudEndpoints::holds`] on URLs parsed already.
pub fn under(base: &Url, url: &Url) -> bool {
    url.scheme() == base.scheme()
        && url.host() == base.host()
        && url.port_or_known_default() == base.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path().starts_with(base.path())
}

/// What a tenant's OpenID configuration document says about its cloud. Values are vetted (short
/// host-name-like text) before they are kept, since they end up in error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCloud {
    /// `cloud_instance_name`, e.g. `microsoftonline.us`.
    pub instance: String,
    /// `msgraph_host`, e.g. `graph.microsoft.us`.
    pub graph_host: Option<String>,
    /// `tenant_region_sub_scope`, e.g. `GCC`, `DODCON`, `DOD`.
    pub sub_scope: Option<String>,
}

impl TenantCloud {
    /// The cloud of the table this document names, or `None` (China, or anything unknown).
    pub fn cloud(&self) -> Option<Cloud> {
        match (self.instance.as_str(), self.graph_host.as_deref()) {
            ("microsoftonline.com", None | Some("graph.microsoft.com")) => Some(Cloud::Global),
            ("microsoftonline.us", Some("graph.microsoft.us")) => Some(Cloud::UsGov),
            ("microsoftonline.us", Some("dod-graph.microsoft.us")) => Some(Cloud::Dod),
            ("microsoftonline.us", None) => Some(match self.sub_scope.as_deref() {
                Some("DOD") => Cloud::Dod,
                _ => Cloud::UsGov,
            }),
            _ => None,
        }
    }
}

impl std::fmt::Display for TenantCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(cloud) = self.cloud() {
            write!(f, "{}: ", cloud.name())?;
        }
        write!(f, "cloud_instance_name {}", self.instance)?;
        if let Some(host) = &self.graph_host {
            write!(f, ", msgraph_host {host}")?;
        }
        if let Some(sub_scope) = &self.sub_scope {
            write!(f, ", tenant_region_sub_scope {sub_scope}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(cloud: CloudChoice, graph: Option<&str>, authority: Option<&str>) -> GraphEndpoints {
        GraphEndpoints {
            cloud,
            api_version: ApiVersion::Beta,
            graph_override: graph.map(str::to_owned),
            authority_override: authority.map(str::to_owned),
        }
    }

    fn document(instance: &str, graph_host: Option<&str>, sub_scope: Option<&str>) -> TenantCloud {
        TenantCloud {
            instance: instance.to_owned(),
            graph_host: graph_host.map(str::to_owned),
            sub_scope: sub_scope.map(str::to_owned),
        }
    }

    #[test]
    fn each_cloud_takes_its_hosts_from_the_table_and_overrides_replace_hosts_but_not_the_scope() {
        let plain = endpoints(CloudChoice::Fixed(Cloud::UsGov), None, None).fixed().unwrap();
        assert_eq!(plain.graph_base, "https://graph.microsoft.us/beta");
        assert_eq!(plain.authority, "https://login.microsoftonline.us");
        assert_eq!(plain.scope, "https://graph.microsoft.us/.default");
        assert_eq!(
            plain.token_url("t"),
            "https://login.microsoftonline.us/t/oauth2/v2.0/token"
        );
        let overridden = endpoints(
            CloudChoice::Fixed(Cloud::Dod),
            Some("http://127.0.0.1:8"),
            Some("http://127.0.0.1:9"),
        )
        .fixed()
        .unwrap();
        assert_eq!(overridden.graph_base, "http://127.0.0.1:8/beta");
        assert_eq!(overridden.authority, "http://127.0.0.1:9");
        assert_eq!(overridden.scope, "https://dod-graph.microsoft.us/.default");
    }

    #[test]
    fn auto_waits_for_discovery_and_asks_the_global_authority_unless_overridden() {
        let auto = endpoints(CloudChoice::Auto, None, None);
        assert_eq!(auto.fixed(), None);
        assert_eq!(auto.discovery_authority(), "https://login.microsoftonline.com");
        assert_eq!(
            auto.for_cloud(Cloud::Dod).graph_base,
            "https://dod-graph.microsoft.us/beta"
        );
        let fixed = endpoints(CloudChoice::Fixed(Cloud::UsGov), None, None);
        assert_eq!(fixed.discovery_authority(), "https://login.microsoftonline.us");
        let overridden = endpoints(CloudChoice::Auto, None, Some("http://127.0.0.1:9"));
        assert_eq!(overridden.discovery_authority(), "http://127.0.0.1:9");
    }

    #[test]
    fn the_documents_cloud_fields_map_onto_the_table_and_nothing_else() {
        let cases = [
            (
                document("microsoftonline.com", Some("graph.microsoft.com"), None),
                Some(Cloud::Global),
            ),
            (
                document("microsoftonline.com", Some("graph.microsoft.com"), Some("GCC")),
                Some(Cloud::Global),
            ),
            (
                document("microsoftonline.us", Some("graph.microsoft.us"), Some("DODCON")),
                Some(Cloud::UsGov),
            ),
            (
                document("microsoftonline.us", Some("dod-graph.microsoft.us"), Some("DOD")),
                Some(Cloud::Dod),
            ),
            (document("microsoftonline.us", None, Some("DOD")), Some(Cloud::Dod)),
            (document("microsoftonline.us", None, Some("DODCON")), Some(Cloud::UsGov)),
            (
                document(
                    "partner.microsoftonline.cn",
                    Some("microsoftgraph.chinacloudapi.cn"),
                    None,
                ),
                None,
            ),
            (document("microsoftonline.com", Some("graph.evil.example"), None), None),
            (document("microsoftonline.us", Some("graph.microsoft.com"), None), None),
        ];
        for (found, cloud) in cases {
            assert_eq!(found.cloud(), cloud, "{found}");
        }
    }

    #[test]
    fn only_urls_under_the_graph_base_are_held() {
        let at = endpoints(CloudChoice::Fixed(Cloud::Global), None, None)
            .fixed()
            .unwrap();
        assert!(at.holds("https://graph.microsoft.com/beta/security/identities/sensors"));
        assert!(at.holds("https://GRAPH.microsoft.com:443/beta/security/identities/sensors?$skiptoken=1"));
        for url in [
            "https://graph.microsoft.us/beta/security/identities/sensors",
            "https://graph.microsoft.com.evil.example/beta/x",
            "http://graph.microsoft.com/beta/x",
            "https://graph.microsoft.com:8443/beta/x",
            "https://graph.microsoft.com/v1.0/x",
            "https://graph.microsoft.com/betax/x",
            "https://graph.microsoft.com/beta/../v1.0/x",
            "https://user@graph.microsoft.com/beta/x",
            "not a url",
        ] {
            assert!(!at.holds(url), "{url}");
        }
    }
}
