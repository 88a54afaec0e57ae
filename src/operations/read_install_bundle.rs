//! `GET /sensor-install-bundle`, `mdi-sensor-key bundle`: the key, the package and the install
//! commands that use both. It hands out the key, so it counts as a key read.

use http::Method;

use super::{
    Answer, Answered, Body, Declaration, InputError, InstallBundle, Operation, Outcome, Ports, RequestParts, Tally,
};
use crate::access::Permission;
use crate::deadline::Deadline;
use crate::keys::KeySource;
use crate::sensors::{self, InputError as Invalid, InstallOptions, KeyFilePath, ProxyUrl, ProxyUserName, SensorSource};

pub static DECLARATION: Declaration = Declaration {
    name: "read-install-bundle",
    method: Method::GET,
    path: "/sensor-install-bundle",
    permission: Permission::ReadKey,
    tally: Tally::KeyRead,
    body: Body::None,
    query: &["delayedUpdate", "proxyUrl", "proxyUserName", "accessKeyFile"],
    command: "bundle",
    about: "Print what an installer needs: the key, the package and the install command line",
    input: |request| Ok(Operation::ReadInstallBundle(install_options(request)?)),
};

pub type Input = InstallOptions;

/// `delayedUpdate`, `proxyUrl`, `proxyUserName` (with `proxyUrl` only) and `accessKeyFile`.
fn install_options(request: &RequestParts<'_, '_>) -> Result<InstallOptions, InputError> {
    let delayed_update = match request.single("delayedUpdate")? {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(Invalid::DelayedUpdate.into()),
    };
    let proxy_url = request.single("proxyUrl")?.map(ProxyUrl::parse).transpose()?;
    let proxy_user_name = request.single("proxyUserName")?.map(ProxyUserName::parse).transpose()?;
    if proxy_user_name.is_some() && proxy_url.is_none() {
        return Err(Invalid::ProxyUserWithoutProxy.into());
    }
    let access_key_file = request.single("accessKeyFile")?.map(KeyFilePath::parse).transpose()?;
    Ok(InstallOptions {
        delayed_update,
        proxy_url,
        proxy_user_name,
        access_key_file,
    })
}

pub async fn run<G: KeySource + SensorSource, K, S>(
    ports: Ports<'_, G, K, S>,
    options: Input,
    deadline: Deadline,
) -> Answered {
    let bundle = sensors::install_bundle(ports.graph, &options, deadline).await?;
    Ok(Answer::new(
        Outcome::Bundle(InstallBundle {
            key: bundle.key,
            download_url: bundle.package.download_url,
            version: bundle.package.version,
            install_command: bundle.install_command,
            install_command_powershell: bundle.install_command_powershell,
            notes: bundle.notes,
        }),
        bundle.graph_request_id,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::request::tests::query;
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> Result<InstallOptions, InputError> {
        let query = query(pairs);
        install_options(&RequestParts {
            host: None,
            query: &query,
            body: b"",
        })
    }

    #[test]
    fn install_options_come_from_the_query_by_their_declared_names() {
        assert_eq!(options(&[]).unwrap(), InstallOptions::default());
        let given = options(&[
            ("delayedUpdate", "true"),
            ("proxyUrl", "http://proxy:8080"),
            ("accessKeyFile", r"C:\key.txt"),
            ("proxyUserName", r"CONTOSO\ProxyUser"),
        ])
        .unwrap();
        assert_eq!(given.proxy_user_name.unwrap().as_str(), r"CONTOSO\ProxyUser");
        assert!(given.delayed_update);
        assert_eq!(given.proxy_url.unwrap().as_str(), "http://proxy:8080");
        assert_eq!(given.access_key_file.unwrap().as_str(), r"C:\key.txt");
        assert!(!options(&[("delayedUpdate", "false")]).unwrap().delayed_update);
    }

    #[test]
    fn bad_install_options_are_refused_by_name() {
        for value in ["TRUE", "1", "yes", ""] {
            assert_eq!(
                options(&[("delayedUpdate", value)]),
                Err(Invalid::DelayedUpdate.into()),
                "{value}"
            );
        }
        assert_eq!(options(&[("proxyUrl", "http://a b")]), Err(Invalid::ProxyUrl.into()));
        assert_eq!(options(&[("accessKeyFile", "key.txt")]), Err(Invalid::KeyFile.into()));
        assert_eq!(
            options(&[("proxyUrl", "http://proxy:8080"), ("proxyUserName", "ProxyUser")]),
            Err(Invalid::ProxyUserName.into())
        );
        assert_eq!(
            options(&[("proxyUserName", r"CONTOSO\ProxyUser")]),
            Err(Invalid::ProxyUserWithoutProxy.into())
        );
        assert_eq!(
            options(&[("delayedUpdate", "true"), ("delayedUpdate", "false")]),
            Err(Invalid::Repeated("delayedUpdate").into())
        );
    }
}
