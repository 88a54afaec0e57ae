//! The three ways the simulated services write the current time: Entra's
//! `2024-05-01 12:00:00Z`, Graph's `innerError.date` `2024-05-01T12:00:00`,
//! and the HTTP `Date` header.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::macros::format_description;

pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

pub(crate) fn entra_timestamp() -> String {
    OffsetDateTime::now_utc()
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z"))
        .unwrap_or_default()
}

pub(crate) fn graph_date() -> String {
    OffsetDateTime::now_utc()
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"))
        .unwrap_or_default()
}

pub(crate) fn http_date() -> String {
    httpdate::fmt_http_date(SystemTime::now())
}

/// `2025-11-11T22:44:21Z`: an AWS query-protocol timestamp for `unix` seconds.
pub(crate) fn iso8601(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
        .and_then(|t| {
            t.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
                .ok()
        })
        .unwrap_or_default()
}
