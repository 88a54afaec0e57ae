//! The installer's command line: its switches, each value checked against an allow-list that
//! holds none of cmd.exe's or PowerShell's special characters, the command Microsoft documents for
//! each shell, and the bundle an install pipeline needs (the key, the package and the commands).

use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};

use super::input::InputError;
use super::model::DeploymentPackage;
use super::port::SensorSource;
use crate::deadline::Deadline;
use crate::keys::{AccessKey, KeySource};
use crate::upstream::{GraphError, Upstream, UpstreamIds};

/// The installer's file name inside Microsoft's package.
pub const INSTALLER: &str = "Azure ATP sensor Setup.exe";

/// Longer proxy URLs are not proxy URLs.
const MAX_PROXY_URL: usize = 2048;
/// Windows' classic path limit; the installer is a Windows program.
const MAX_KEY_FILE_PATH: usize = 260;
/// A `DOMAIN\user` longer than this is not one.
const MAX_PROXY_USER_NAME: usize = 256;

/// The environment variable the install commands read the proxy user's password from, on the
/// server, when a proxy user is named: a caller-supplied secret has no place in a URL (it is
/// logged and cached by every hop), nor in the bundle.
pub const PROXY_PASSWORD_VARIABLE: &str = "MDI_PROXY_USER_PASSWORD";

/// What the bundle says before anyone runs its command, in Microsoft's words where they are
/// Microsoft's (MicrosoftDocs/ATADocs `ATPDocs/deploy/install-sensor.md`, "Perform a Defender for
/// Identity silent installation" and "Silent installation via a deployment system").
pub const INSTALL_NOTES: [&str; 2] = [
    "The install may restart the server. Microsoft: \"The Defender for Identity silent installation for sensors is configured to automatically restart the server at the end of the installation, if necessary. Schedule a silent installation only during a maintenance window. Because of a Windows Installer bug, you can't reliably use the norestart flag to make sure the server doesn't restart.\" (learn.microsoft.com/defender-for-identity/deploy/install-sensor)",
    "Install Microsoft .NET Framework 4.7 or later first, as a deployment of its own that the sensor's depends on: Microsoft advises it, since installing .NET \"might include restarting the domain controller\"; without it the sensor's setup installs .NET itself (NetFrameworkCommandLineArguments=\"/q\" keeps that silent).",
];

/// What the bundle adds to [`INSTALL_NOTES`] when a proxy user is named.
pub const PROXY_PASSWORD_NOTE: &str = "The commands read the proxy user's password from the environment variable MDI_PROXY_USER_PASSWORD on the server: set it in the installing process's environment from your secret store, never in the command. PowerShell passes it as data; cmd.exe expands it before it parses the line, so for a password holding \" % ! ^ & | < > use the PowerShell command.";

/// What an installer needs. `Debug` shows neither the key nor the commands (secrets).
#[derive(Debug, Clone)]
pub struct InstallBundle {
    pub key: AccessKey,
    pub package: DeploymentPackage,
    /// The installer's command line for cmd.exe; it holds the key unless a key file is used.
    pub install_command: SecretString,
    /// The same for PowerShell.
    pub install_command_powershell: SecretString,
    /// What to know before running them: [`INSTALL_NOTES`], and [`PROXY_PASSWORD_NOTE`] with a
    /// proxy user.
    pub notes: Vec<&'static str>,
    /// The key read's request id.
    pub graph_request_id: Option<String>,
}

/// A proxy URL that is safe to put between double quotes on a Windows command line (cmd.exe or
/// PowerShell): an allow-list of characters rules out quotes, spaces, `%`, `!`, `$`, backticks,
/// `^`, `&`, `|`, `;`, `<`, `>` and the rest, whatever shell runs the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyUrl(String);

impl ProxyUrl {
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | ':' | '/' | '[' | ']');
        if text.is_empty() || text.len() > MAX_PROXY_URL || !text.chars().all(allowed) {
            return Err(InputError::ProxyUrl);
        }
        let url = url::Url::parse(text).map_err(|_| InputError::ProxyUrl)?;
        let plain = matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some_and(|host| !host.is_empty())
            && url.username().is_empty()
            && url.password().is_none()
            && url.query().is_none()
            && url.fragment().is_none()
            // The URL parser accepts `http:host`; the installer wants the `//`.
            && text.split_once("://").is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case(url.scheme()));
        if !plain {
            return Err(InputError::ProxyUrl);
        }
        Ok(ProxyUrl(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ProxyUrl {
    type Err = InputError;

    fn from_str(text: &str) -> Result<Self, InputError> {
        ProxyUrl::parse(text)
    }
}

/// Where the installer reads the key from instead of its command line (`AccessKeyFile`, sensor
/// 2.207 and later): an absolute Windows path that is safe between double quotes in cmd.exe and
/// PowerShell, and that does not end in a backslash (which would escape the closing quote for the
/// installer's own argument parser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFilePath(String);

impl KeyFilePath {
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | '\\' | ':' | '.' | '_' | '-');
        let bytes = text.as_bytes();
        let drive = bytes.len() > 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'\\';
        let unc = text.starts_with("\\\\") && text.len() > 2 && !text[2..].starts_with('\\');
        if text.len() > MAX_KEY_FILE_PATH
            || !text.chars().all(allowed)
            || !(drive || unc)
            || text.ends_with('\\')
            || text.ends_with(' ')
            || text[2..].contains(':')
        {
            return Err(InputError::KeyFile);
        }
        Ok(KeyFilePath(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for KeyFilePath {
    type Err = InputError;

    fn from_str(text: &str) -> Result<Self, InputError> {
        KeyFilePath::parse(text)
    }
}

/// The proxy's user, `DOMAIN\user` as the installer documents `ProxyUserName`
/// (`ATPDocs/deploy/install-sensor.md`: "If your proxy service requires authentication, define a
/// username in the `DOMAIN\user` format"), from an allow-list that is safe between double quotes
/// in cmd.exe and PowerShell; the one backslash is never the last character, so it cannot escape
/// the closing quote for the installer's argument parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyUserName(String);

impl ProxyUserName {
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let part = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        };
        match text.split_once('\\') {
            Some((domain, user)) if text.len() <= MAX_PROXY_USER_NAME && part(domain) && part(user) => {
                Ok(ProxyUserName(text.to_owned()))
            }
            _ => Err(InputError::ProxyUserName),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ProxyUserName {
    type Err = InputError;

    fn from_str(text: &str) -> Result<Self, InputError> {
        ProxyUserName::parse(text)
    }
}

/// The installer's optional switches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallOptions {
    pub delayed_update: bool,
    pub proxy_url: Option<ProxyUrl>,
    /// The proxy's user (with [`Self::proxy_url`] only): the commands add `ProxyUserName` and a
    /// `ProxyUserPassword` read from [`PROXY_PASSWORD_VARIABLE`].
    pub proxy_user_name: Option<ProxyUserName>,
    /// Name a key file on the command line instead of the key itself.
    pub access_key_file: Option<KeyFilePath>,
}

/// The shell an install command is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Cmd,
    PowerShell,
}

/// The installer's silent command line as Microsoft's "Install the sensor" page writes it for
/// `shell`: `"Azure ATP sensor Setup.exe" /quiet NetFrameworkCommandLineArguments="/q"
/// AccessKey="<key>"` for cmd.exe, and the same after `.\` for PowerShell (without it PowerShell
/// takes the quoted path for a string, not a command). Then `AccessKeyFile="<path>"` instead of the
/// key when a key file is asked for, and the optional switches. `Err` when the key holds a
/// character that cannot sit between double quotes safely (Graph's keys are base64, so this means
/// Graph sent something else). Every value was checked against an allow-list that holds none of
/// either shell's special characters, so no value can end its argument (see the tests).
pub fn install_command(key: &AccessKey, options: &InstallOptions, shell: Shell) -> Result<SecretString, &'static str> {
    let key = key.expose().expose_secret();
    let quotable = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_');
    if key.is_empty() || !key.chars().all(quotable) {
        return Err("the key holds characters that cannot be quoted on the installer's command line");
    }
    let invoke = match shell {
        Shell::Cmd => "",
        Shell::PowerShell => ".\\",
    };
    let mut command = format!("{invoke}\"{INSTALLER}\" /quiet NetFrameworkCommandLineArguments=\"/q\"");
    match &options.access_key_file {
        Some(path) => command.push_str(&format!(" AccessKeyFile=\"{}\"", path.as_str())),
        None => command.push_str(&format!(" AccessKey=\"{key}\"")),
    }
    if options.delayed_update {
        command.push_str(" DelayedUpdate=true");
    }
    if let Some(proxy) = &options.proxy_url {
        command.push_str(&format!(" ProxyUrl=\"{}\"", proxy.as_str()));
    }
    if let Some(user) = &options.proxy_user_name {
        // The password is the shell's to fill in from the server's environment: PowerShell expands
        // `$env:NAME` inside double quotes as data, cmd.exe `%NAME%` (PROXY_PASSWORD_NOTE).
        let password = match shell {
            Shell::Cmd => format!("%{PROXY_PASSWORD_VARIABLE}%"),
            Shell::PowerShell => format!("$env:{PROXY_PASSWORD_VARIABLE}"),
        };
        command.push_str(&format!(
            " ProxyUserName=\"{}\" ProxyUserPassword=\"{password}\"",
            user.as_str()
        ));
    }
    Ok(SecretString::from(command))
}

/// The key and the package, read from Graph at the same time, and the command that uses both.
pub async fn install_bundle<G: KeySource + SensorSource>(
    graph: &G,
    options: &InstallOptions,
    deadline: Deadline,
) -> Result<InstallBundle, GraphError> {
    let (key, package) = tokio::join!(graph.current_key(deadline), graph.deployment_package(deadline));
    let (key, package) = (key?, package?);
    let command = |shell| {
        install_command(&key.key, options, shell).map_err(|reason| GraphError::BadResponse {
            upstream: Upstream::Graph,
            reason,
            ids: UpstreamIds {
                request_id: key.graph_request_id.clone(),
                ..UpstreamIds::default()
            },
        })
    };
    let (install_command, install_command_powershell) = (command(Shell::Cmd)?, command(Shell::PowerShell)?);
    let mut notes = INSTALL_NOTES.to_vec();
    if options.proxy_user_name.is_some() {
        notes.push(PROXY_PASSWORD_NOTE);
    }
    Ok(InstallBundle {
        key: key.key,
        package: package.package,
        install_command,
        install_command_powershell,
        notes,
        graph_request_id: key.graph_request_id,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fake::{FakeSensors, KEY, key, soon};
    use super::*;
    #[test]
    fn the_install_commands_are_microsofts_for_each_shell_with_the_switches_in_order() {
        let cmd = install_command(&key(), &InstallOptions::default(), Shell::Cmd).unwrap();
        assert_eq!(
            cmd.expose_secret(),
            format!(
                "\"Azure ATP sensor Setup.exe\" /quiet NetFrameworkCommandLineArguments=\"/q\" AccessKey=\"{KEY}\""
            )
        );
        let powershell = install_command(&key(), &InstallOptions::default(), Shell::PowerShell).unwrap();
        assert_eq!(
            powershell.expose_secret(),
            format!(".\\{}", cmd.expose_secret()),
            "PowerShell runs a quoted path only after .\\"
        );
        let options = InstallOptions {
            delayed_update: true,
            proxy_url: Some(ProxyUrl::parse("http://proxy.contoso.com:8080").unwrap()),
            access_key_file: None,
            proxy_user_name: None,
        };
        let full = install_command(&key(), &options, Shell::Cmd).unwrap();
        assert!(full.expose_secret().ends_with(&format!(
            "AccessKey=\"{KEY}\" DelayedUpdate=true ProxyUrl=\"http://proxy.contoso.com:8080\""
        )));
    }

    #[test]
    fn a_proxy_user_is_named_and_its_password_read_by_the_shell_from_the_servers_environment() {
        let options = InstallOptions {
            proxy_url: Some(ProxyUrl::parse("http://proxy.contoso.com:8080").unwrap()),
            proxy_user_name: Some(ProxyUserName::parse(r"CONTOSO\svc-mdi.proxy_1").unwrap()),
            ..InstallOptions::default()
        };
        let cmd = install_command(&key(), &options, Shell::Cmd).unwrap();
        assert!(
            cmd.expose_secret().ends_with(
                r#"ProxyUrl="http://proxy.contoso.com:8080" ProxyUserName="CONTOSO\svc-mdi.proxy_1" ProxyUserPassword="%MDI_PROXY_USER_PASSWORD%""#
            ),
            "{}",
            cmd.expose_secret()
        );
        let powershell = install_command(&key(), &options, Shell::PowerShell).unwrap();
        assert!(
            powershell
                .expose_secret()
                .ends_with(r#"ProxyUserPassword="$env:MDI_PROXY_USER_PASSWORD""#)
        );
        for argv in [
            shells::cmd(cmd.expose_secret()).unwrap(),
            shells::powershell(powershell.expose_secret()).unwrap(),
        ] {
            assert_eq!(
                argv[argv.len() - 2..],
                [r"ProxyUserName=CONTOSO\svc-mdi.proxy_1", "ProxyUserPassword=PASSWORD"]
            );
        }
    }

    #[test]
    fn proxy_user_names_are_domain_backslash_user_safe_to_quote() {
        for good in [r"CONTOSO\ProxyUser", r"corp.contoso.com\svc_mdi-1", r"a\b"] {
            assert_eq!(ProxyUserName::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "ProxyUser",
            r"CONTOSO\",
            r"\ProxyUser",
            r"A\B\C",
            "user@contoso.com",
            r"CONTOSO\Proxy User",
            r#"CONTOSO\a"b"#,
            r"CONTOSO\%USERNAME%",
            r"CONTOSO\$env:USERNAME",
            r"CONTOSO\a&b",
            &format!(r"CONTOSO\{}", "a".repeat(MAX_PROXY_USER_NAME)),
        ] {
            assert_eq!(ProxyUserName::parse(bad), Err(InputError::ProxyUserName), "{bad:?}");
        }
    }

    #[test]
    fn with_a_key_file_the_commands_name_the_file_and_hold_no_key() {
        let options = InstallOptions {
            access_key_file: Some(KeyFilePath::parse(r"C:\Deploy\MDI key.txt").unwrap()),
            ..InstallOptions::default()
        };
        for shell in [Shell::Cmd, Shell::PowerShell] {
            let command = install_command(&key(), &options, shell).unwrap();
            let command = command.expose_secret();
            assert!(
                command.ends_with(r#"AccessKeyFile="C:\Deploy\MDI key.txt""#),
                "{command}"
            );
            assert!(!command.contains(KEY) && !command.contains("AccessKey="), "{command}");
        }
    }

    #[test]
    fn key_file_paths_are_absolute_windows_paths_safe_to_quote() {
        for good in [r"C:\key.txt", r"d:\MDI\Access Key.txt", r"\\fileserver\deploy\key.txt"] {
            assert_eq!(KeyFilePath::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "key.txt",
            r"..\key.txt",
            r"C:key.txt",
            r"C:\",
            r"C:\dir\",
            r"C:\dir\key.txt ",
            r"\\",
            r"\\\server",
            r"C:\a:b",
            "C:\\a\"b",
            r"C:\%TEMP%\key.txt",
            r"C:\$env:TEMP\key.txt",
            r"C:\a&b",
            r"C:\a`b",
            "C:\\a\nb",
            "/tmp/key.txt",
            &format!(r"C:\{}", "a".repeat(MAX_KEY_FILE_PATH)),
        ] {
            assert_eq!(KeyFilePath::parse(bad), Err(InputError::KeyFile), "{bad:?}");
        }
    }

    #[test]
    fn a_key_that_cannot_be_quoted_safely_is_refused_without_being_quoted() {
        for bad in ["", "abc\"def", "a b", "a%PATH%", "k$(x)", "a`b", "a\u{201d}b"] {
            for shell in [Shell::Cmd, Shell::PowerShell] {
                let error = install_command(
                    &AccessKey::new(SecretString::from(bad)),
                    &InstallOptions::default(),
                    shell,
                )
                .unwrap_err();
                assert!(bad.is_empty() || !error.contains(bad), "{error}");
            }
        }
    }

    /// Every character the allow-lists let through, in one key, one proxy URL and one path.
    fn every_allowed_character() -> InstallOptions {
        InstallOptions {
            delayed_update: true,
            proxy_url: Some(ProxyUrl::parse("http://[::1]:8080/a-b.c_d~e/").unwrap()),
            access_key_file: None,
            proxy_user_name: None,
        }
    }

    const EVERY_KEY_CHARACTER: &str = "ABCXYZabcxyz0189+/=-_==";

    #[test]
    fn cmd_reads_the_command_as_the_installer_and_its_arguments_whatever_the_values() {
        let key = AccessKey::new(SecretString::from(EVERY_KEY_CHARACTER));
        for options in [every_allowed_character(), InstallOptions::default()] {
            let command = install_command(&key, &options, Shell::Cmd).unwrap();
            let argv = shells::cmd(command.expose_secret()).expect("cmd.exe runs it as one command");
            assert_eq!(argv[0], INSTALLER);
            assert_eq!(argv[3], format!("AccessKey={EVERY_KEY_CHARACTER}"));
            assert_eq!(argv.len(), 4 + 2 * usize::from(options.delayed_update));
            if options.delayed_update {
                assert_eq!(argv[5], "ProxyUrl=http://[::1]:8080/a-b.c_d~e/");
            }
        }
        let options = InstallOptions {
            access_key_file: Some(KeyFilePath::parse(r"C:\Deploy Files\key-1_a.txt").unwrap()),
            ..InstallOptions::default()
        };
        let argv = shells::cmd(install_command(&key, &options, Shell::Cmd).unwrap().expose_secret()).unwrap();
        assert_eq!(argv[3], r"AccessKeyFile=C:\Deploy Files\key-1_a.txt");
    }

    #[test]
    fn powershell_reads_the_command_as_the_installer_and_its_arguments_whatever_the_values() {
        let key = AccessKey::new(SecretString::from(EVERY_KEY_CHARACTER));
        let command = install_command(&key, &every_allowed_character(), Shell::PowerShell).unwrap();
        let argv = shells::powershell(command.expose_secret()).expect("PowerShell runs it as one command");
        assert_eq!(argv[0], format!(".\\{INSTALLER}"));
        assert_eq!(
            argv[1..],
            [
                "/quiet".to_owned(),
                "NetFrameworkCommandLineArguments=/q".to_owned(),
                format!("AccessKey={EVERY_KEY_CHARACTER}"),
                "DelayedUpdate=true".to_owned(),
                "ProxyUrl=http://[::1]:8080/a-b.c_d~e/".to_owned(),
            ]
        );
        let bare = format!("\"{INSTALLER}\" /quiet");
        assert!(
            shells::powershell(&bare).is_err(),
            "a quoted path alone is a string, not a command"
        );
    }

    proptest::proptest! {
        #[test]
        fn no_base64_key_can_end_its_argument_in_either_shell(key in "[A-Za-z0-9+/=_-]{1,120}") {
            let access_key = AccessKey::new(SecretString::from(key.clone()));
            let cmd = install_command(&access_key, &InstallOptions::default(), Shell::Cmd).unwrap();
            let argv = shells::cmd(cmd.expose_secret()).unwrap();
            proptest::prop_assert_eq!(&argv[3], &format!("AccessKey={key}"));
            let ps = install_command(&access_key, &InstallOptions::default(), Shell::PowerShell).unwrap();
            let argv = shells::powershell(ps.expose_secret()).unwrap();
            proptest::prop_assert_eq!(&argv[3], &format!("AccessKey={key}"));
        }

        #[test]
        fn no_accepted_proxy_url_can_end_its_argument_in_either_shell(url in "https?://[A-Za-z0-9.-]{1,40}(:[0-9]{1,5})?(/[A-Za-z0-9._~:/-]{0,40})?") {
            let Ok(proxy) = ProxyUrl::parse(&url) else { return Ok(()) };
            let options = InstallOptions { proxy_url: Some(proxy), ..InstallOptions::default() };
            for (shell, parse) in [(Shell::Cmd, shells::cmd as fn(&str) -> Result<Vec<String>, String>), (Shell::PowerShell, shells::powershell)] {
                let command = install_command(&key(), &options, shell).unwrap();
                let argv = parse(command.expose_secret()).unwrap();
                proptest::prop_assert_eq!(argv.last().unwrap(), &format!("ProxyUrl={url}"));
            }
        }
    }

    /// How each shell splits a command line, as far as these commands need: enough to show that
    /// no accepted value ends its argument or reaches a special character, and strict about the
    /// rest (anything these parsers do not model is an `Err`).
    mod shells {
        /// cmd.exe: `%` expands even between quotes and `!` with delayed expansion; outside quotes
        /// `& | < > ^ ( )` are operators. The program then splits its command line by the MSVC
        /// rules (CommandLineToArgvW): whitespace separates outside quotes, `"` toggles, and a
        /// backslash before `"` escapes it.
        ///
        /// The one expansion the commands mean, the proxy password's variable between quotes of
        /// its own, stands for its value (`PASSWORD`); any other `%` is refused.
        pub fn cmd(line: &str) -> Result<Vec<String>, String> {
            let meant = format!("\"%{}%\"", super::PROXY_PASSWORD_VARIABLE);
            let line = &line.replacen(&meant, "\"PASSWORD\"", 1);
            if line.contains(['%', '!', '\n', '\r']) {
                return Err("cmd.exe expands or ends the line here".into());
            }
            let mut quoted = false;
            for c in line.chars() {
                match c {
                    '"' => quoted = !quoted,
                    '&' | '|' | '<' | '>' | '^' | '(' | ')' if !quoted => return Err(format!("operator {c}")),
                    _ => {}
                }
            }
            if line.contains("\\\"") {
                return Err("a backslash escapes a quote for the installer".into());
            }
            Ok(split(line))
        }

        /// PowerShell: a command starts with a bareword (`.\"x"` is one; a leading `"x"` is a
        /// string expression). Within double quotes `` ` `` and `$` are special and the typographic
        /// quotes count as quotes; outside them `; | & ( ) { } < > , @ # '` are.
        ///
        /// As for cmd.exe, `"$env:MDI_PROXY_USER_PASSWORD"` stands for its value (`PASSWORD`):
        /// PowerShell expands a variable between double quotes as data, never as code.
        pub fn powershell(line: &str) -> Result<Vec<String>, String> {
            let meant = format!("\"$env:{}\"", super::PROXY_PASSWORD_VARIABLE);
            let line = &line.replacen(&meant, "\"PASSWORD\"", 1);
            if line.starts_with('"') || line.starts_with('\'') {
                return Err("an expression, not a command".into());
            }
            if line.contains(['`', '$', '\u{201c}', '\u{201d}', '\u{201e}', '\n', '\r']) {
                return Err("escape, variable or typographic quote".into());
            }
            let mut quoted = false;
            for c in line.chars() {
                match c {
                    '"' => quoted = !quoted,
                    ';' | '|' | '&' | '(' | ')' | '{' | '}' | '<' | '>' | ',' | '@' | '#' | '\'' if !quoted => {
                        return Err(format!("operator {c}"));
                    }
                    _ => {}
                }
            }
            Ok(split(line))
        }

        /// Splits at whitespace outside double quotes and drops the quotes.
        fn split(line: &str) -> Vec<String> {
            let mut args = Vec::new();
            let mut current = String::new();
            let mut quoted = false;
            let mut started = false;
            for c in line.chars() {
                match c {
                    '"' => {
                        quoted = !quoted;
                        started = true;
                    }
                    ' ' | '\t' if !quoted => {
                        if started {
                            args.push(std::mem::take(&mut current));
                            started = false;
                        }
                    }
                    other => {
                        current.push(other);
                        started = true;
                    }
                }
            }
            if started {
                args.push(current);
            }
            args
        }
    }

    #[test]
    fn plain_http_and_https_proxy_urls_are_accepted() {
        for good in [
            "http://proxy.contoso.com:8080",
            "https://proxy:3128/",
            "http://10.0.0.1:8080",
            "http://[2001:db8::1]:8080",
            "HTTP://Proxy.Contoso.com",
        ] {
            assert_eq!(ProxyUrl::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn proxy_urls_with_quotes_spaces_metacharacters_or_the_wrong_shape_are_refused() {
        for bad in [
            "",
            "proxy.contoso.com:8080",
            "ftp://proxy:21",
            "http://",
            "http:proxy",
            "http://proxy\" /evil",
            "http://proxy /x",
            "http://proxy&calc",
            "http://proxy|calc",
            "http://proxy;calc",
            "http://proxy$(calc)",
            "http://proxy`calc`",
            "http://%PATH%",
            "http://proxy!x!",
            "http://proxy^x",
            "http://proxy<x>",
            "http://user:pass@proxy",
            "http://proxy/?q=1",
            "http://proxy/#x",
            "http://proxy'x",
            "http://proxy\nx",
            "http://proxé.com",
            &format!("http://{}", "a".repeat(MAX_PROXY_URL)),
        ] {
            assert_eq!(ProxyUrl::parse(bad), Err(InputError::ProxyUrl), "{bad:?}");
        }
    }

    #[test]
    fn input_errors_never_quote_the_input() {
        let error = ProxyUrl::parse("http://secret-looking-value\"").unwrap_err();
        assert!(!error.to_string().contains("secret-looking-value"));
    }

    #[tokio::test]
    async fn the_bundle_reads_the_key_and_the_package_and_builds_the_command() {
        let graph = FakeSensors {
            key: KEY.into(),
            ..FakeSensors::default()
        };
        let bundle = install_bundle(&graph, &InstallOptions::default(), soon())
            .await
            .unwrap();
        assert_eq!(bundle.key.expose().expose_secret(), KEY);
        assert_eq!(bundle.package.version, "2.241.18000.0");
        assert!(bundle.install_command.expose_secret().contains(KEY));
        assert_eq!(bundle.graph_request_id.as_deref(), Some("key-req"));
        let mut calls = graph.calls.lock().unwrap().clone();
        calls.sort();
        assert_eq!(calls, ["key", "package"]);
        assert!(
            !format!("{bundle:?}").contains(KEY),
            "Debug redacts the key and the command"
        );
    }
}
