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
