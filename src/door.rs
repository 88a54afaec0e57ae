//! Which door this function is, from its own configuration (`FUNCTION_DOOR`), and which kinds of
//! invocation each door takes (docs/security.md, "Two doors").
//!
//! The stack has two functions from one binary: the HTTP door (`http`), reached by the function
//! URL and the HTTP API, and the event door (`events`), reached by the Scheduler's schedules and
//! Secrets Manager's rotation. Lambda hands each its `FUNCTION_DOOR` at start and no event can
//! change it, so the function never learns its door from the event it serves. Local tools, which
//! run one process for both kinds, set `local` themselves; the template never does. Unset or any
//! other value is not a door: every invocation is refused (never widened to both).

/// The door a function serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// `http`: IAM-signed HTTP requests (function URL, HTTP API) only.
    Http,
    /// `events`: the Scheduler's inputs, EventBridge schedules and Secrets Manager's rotation
    /// steps only.
    Events,
    /// `local`: both, for `cargo lambda watch`/`invoke`, the demo and the tests.
    Local,
    /// `FUNCTION_DOOR` unset or not a door: nothing is served.
    NotADoor,
}

/// What an invocation is, from its shape: Lambda's own parsing of the event (an HTTP request
/// context or not), never a field the function trusts for anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// An event with an HTTP request context (a function URL or an HTTP API, payload 2.0).
    Http,
    /// Anything else: a schedule, a Scheduler input, a rotation step, or an event of no known kind.
    Event,
    /// An event that looks like an HTTP request but has no request context Lambda could read:
    /// AWS never builds one, so only a direct invoke sends it. Refused at both doors; local tools
    /// pass it on to the event parser, which names it.
    HttpWithoutContext,
}

/// The variable that names the door.
pub const VARIABLE: &str = "FUNCTION_DOOR";

impl Door {
    /// Reads `FUNCTION_DOOR`'s value, exactly as the template writes it.
    pub fn parse(value: Option<&str>) -> Door {
        match value.map(str::trim) {
            Some("http") => Door::Http,
            Some("events") => Door::Events,
            Some("local") => Door::Local,
            _ => Door::NotADoor,
        }
    }

    /// Whether this door takes an invocation of this kind. Exhaustive on purpose: each door says
    /// what it takes.
    pub fn takes(self, arrival: Arrival) -> bool {
        match (self, arrival) {
            (Door::Http, Arrival::Http) | (Door::Events, Arrival::Event) => true,
            (Door::Http, Arrival::Event) | (Door::Events, Arrival::Http) => false,
            (Door::Http | Door::Events, Arrival::HttpWithoutContext) => false,
            (Door::Local, Arrival::Http | Arrival::Event | Arrival::HttpWithoutContext) => true,
            (Door::NotADoor, Arrival::Http | Arrival::Event | Arrival::HttpWithoutContext) => false,
        }
    }

    /// The name for logs and errors.
    pub fn name(self) -> &'static str {
        match self {
            Door::Http => "http",
            Door::Events => "events",
            Door::Local => "local",
            Door::NotADoor => "none",
        }
    }
}

impl Arrival {
    pub fn name(self) -> &'static str {
        match self {
            Arrival::Http => "http-request",
            Arrival::Event => "event",
            Arrival::HttpWithoutContext => "http-request-without-context",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_door_takes_its_own_kind_and_local_takes_both() {
        assert!(Door::Http.takes(Arrival::Http));
        assert!(!Door::Http.takes(Arrival::Event));
        assert!(Door::Events.takes(Arrival::Event));
        assert!(!Door::Events.takes(Arrival::Http));
        assert!(Door::Local.takes(Arrival::Http) && Door::Local.takes(Arrival::Event));
        assert!(!Door::Http.takes(Arrival::HttpWithoutContext) && !Door::Events.takes(Arrival::HttpWithoutContext));
    }

    #[test]
    fn an_unset_or_unknown_door_takes_nothing() {
        for value in [
            None,
            Some(""),
            Some("HTTP"),
            Some("both"),
            Some("http,events"),
            Some("*"),
        ] {
            let door = Door::parse(value);
            assert_eq!(door, Door::NotADoor, "{value:?}");
            assert!(!door.takes(Arrival::Http) && !door.takes(Arrival::Event), "{value:?}");
        }
        assert_eq!(Door::parse(Some(" events ")), Door::Events);
    }
}
