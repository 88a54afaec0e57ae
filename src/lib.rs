//! Hands out and rotates the Microsoft Defender for Identity sensor deployment access key.
//!
//! The crate is a library plus a thin Lambda binary (`bootstrap`). The domain modules
//! ([`keys`], [`rotation`]) speak only to two narrow ports: [`keys::KeySource`] (Microsoft Graph,
//! implemented by [`graph::GraphSession`]) and [`secrets::SecretStore`] (AWS Secrets Manager,
//! implemented by [`secrets::AwsSecretStore`]). [`sensors`] (package, install bundle, sensor
//! verdicts) adds a third, [`sensors::SensorSource`], also implemented by the Graph session.
//! [`handler`] is the only module that knows Lambda; the `mdi-sensor-key` CLI binary is another
//! front end over the same library.
#![forbid(unsafe_code)]

pub mod access;
pub mod app;
pub mod bounded_file;
pub mod candidates;
pub mod certificate;
pub mod cloud;
pub mod config;
pub mod credentials;
pub mod deadline;
pub mod door;
pub mod federation;
#[cfg(test)]
pub(crate) mod gate;
pub mod graph;
pub mod handler;
pub mod keys;
pub mod logging;
pub mod metrics;
pub mod operations;
pub mod problem;
pub mod rotation;
pub mod secrets;
pub mod sensors;
pub mod tls;
pub mod upstream;
