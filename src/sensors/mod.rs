//! The sensors: the installer package, the install bundle an automated deployment needs (the key,
//! the package and the installer's command line that uses both), the tenant's sensors, a verdict
//! on each that an install pipeline can poll, and the health issues that explain an unhealthy one.
//!
//! Knows nothing of Lambda, HTTP or terminals; speaks to Graph through [`SensorSource`] (and
//! [`KeySource`](crate::keys::KeySource) for the key). The inputs that end up on a command line or
//! in a filter are validated here, so the HTTP routes and the CLI accept and refuse exactly the
//! same values. One file per concern, each importing only those below it:
//!
//! - [`model`]: what Graph says of a sensor and the package;
//! - [`input`]: why an input is refused;
//! - [`hosts`]: host names and which sensor a name means;
//! - [`health`]: health issues, and what explains an unhealthy verdict;
//! - [`port`]: the port to Graph;
//! - [`verdict`]: the verdict rules;
//! - [`install`]: the installer's switches, commands and the bundle;
//! - [`queries`]: the list, the verdict on a host, a host's health issues.

#[cfg(test)]
pub(crate) mod fake;
pub mod health;
pub mod hosts;
pub mod input;
pub mod install;
pub mod model;
pub mod port;
pub mod queries;
pub mod verdict;

pub use hosts::{HostName, SensorFilter};
pub use input::InputError;
pub use install::{
    INSTALL_NOTES, INSTALLER, InstallBundle, InstallOptions, KeyFilePath, PROXY_PASSWORD_NOTE, PROXY_PASSWORD_VARIABLE,
    ProxyUrl, ProxyUserName, Shell, install_bundle, install_command,
};
pub use model::{DeploymentPackage, PackageAnswer, Sensor, SensorsAnswer};
pub use port::SensorSource;
pub use queries::{HostVerdict, SensorError, SensorList, host_health_issues, list, verdict};
pub use verdict::{SensorReport, Verdict};
