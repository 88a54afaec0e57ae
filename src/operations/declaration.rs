//! What every operation declares about itself, once: its route, its name, the allow-list that
//! guards it, the counter its outcome goes to, the body it takes, its CLI command and help, and
//! how its input is read from a request's parts. The front ends read these and name no operation.

use http::Method;

use super::Operation;
use super::request::{InputError, RequestParts};
use crate::access::Permission;

/// One operation, as the front ends and the docs see it. Every field is required, so a new
/// operation does not compile until someone chooses its allow-list.
#[derive(Debug)]
pub struct Declaration {
    /// In the audit line and the metrics: `read-key`.
    pub name: &'static str,
    /// The HTTP method of its route.
    pub method: Method,
    /// Its path: literal segments, and `{host}` for one segment that names a server.
    pub path: &'static str,
    /// The allow-list whose members may ask for it.
    pub permission: Permission,
    /// Which counter its outcome goes to.
    pub tally: Tally,
    /// Whether its request carries a JSON body; the others take none.
    pub body: Body,
    /// Every query parameter it reads, by its exact name: a request with any other is refused
    /// (400 naming it) rather than answered as if it were not there.
    pub query: &'static [&'static str],
    /// The CLI's command for it: `get`.
    pub command: &'static str,
    /// One line for the CLI's help.
    pub about: &'static str,
    /// Its input, read from a request's parts and validated.
    pub input: fn(&RequestParts<'_, '_>) -> Result<Operation, InputError>,
}

/// Which counter an operation's outcome goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    KeyRead,
    Regeneration,
    SensorQuery,
    SensorActivation,
}

/// What a request's body may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// Nothing, or `{}`.
    None,
    /// A JSON object, read by the operation's input.
    Json,
}

/// The placeholder of a path segment that names a server.
const HOST_SEGMENT: &str = "{host}";

impl Declaration {
    /// Whether `path` is this declaration's, exactly (no normalisation: `/sensor-key/`,
    /// `//sensor-key` and `/Sensor-Key` are someone else's): `Some` with the `{host}` segment, as
    /// sent, when it has one.
    pub fn matches_path<'a>(&self, path: &'a str) -> Option<Option<&'a str>> {
        let mut host = None;
        let mut wanted = self.path.split('/');
        let mut given = path.split('/');
        loop {
            match (wanted.next(), given.next()) {
                (None, None) => return Some(host),
                (Some(HOST_SEGMENT), Some(segment)) if !segment.is_empty() => host = Some(segment),
                (Some(literal), Some(segment)) if literal == segment => {}
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::DECLARATIONS;
    use super::*;

    fn declared(name: &str) -> &'static Declaration {
        DECLARATIONS
            .iter()
            .find(|declaration| declaration.name == name)
            .unwrap()
    }

    #[test]
    fn a_path_matches_exactly_and_a_host_is_one_non_empty_segment() {
        let key = declared("read-key");
        assert_eq!(key.matches_path("/sensor-key"), Some(None));
        for path in [
            "/sensor-key/",
            "//sensor-key",
            "/Sensor-Key",
            "/sensor-key/../sensor-key",
            "",
        ] {
            assert_eq!(key.matches_path(path), None, "{path}");
        }
        let verdict = declared("sensor-verdict");
        assert_eq!(verdict.matches_path("/sensors/DC1%2Ex/verdict"), Some(Some("DC1%2Ex")));
        for path in [
            "/sensors//verdict",
            "/sensors/a/b/verdict",
            "/sensors/a/verdict/",
            "/sensors/a/Verdict",
        ] {
            assert_eq!(verdict.matches_path(path), None, "{path}");
        }
    }

    #[test]
    fn no_two_declarations_share_a_route_a_name_or_a_command_with_another_meaning() {
        for (i, one) in DECLARATIONS.iter().enumerate() {
            for other in &DECLARATIONS[i + 1..] {
                assert!(
                    !(one.method == other.method && one.path == other.path),
                    "{} and {} share a route",
                    one.name,
                    other.name
                );
                assert_ne!(one.name, other.name);
                if one.command == other.command {
                    // One command may cover a read and its write (`activation-mode [--set]`).
                    assert_eq!(one.path, other.path, "{} and {}", one.name, other.name);
                }
            }
        }
    }
}
