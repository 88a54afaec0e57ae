//! Who may do what: the caller's IAM principal checked against the `KEY_READERS`, `KEY_ROTATORS`
//! and `SENSOR_ACTIVATORS` allow-lists.
//!
//! Each entry is parsed once, at cold start, into the six parts of an ARN
//! (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`) and must name principals: a user, a role, the
//! account root (`iam`), an assumed-role session or a federated user (`sts`). A `*` matches within
//! one part of a name and never across a `/` (nor in the partition, the service or the account
//! id). A role entry or role pattern also admits that role's sessions, because a role's callers
//! present `arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION`, never the role ARN; a session
//! ARN carries no path, so the role's name alone is matched there. User and role names compare
//! case-insensitively, as IAM keeps them unique regardless of case (IAM User Guide, "IAM
//! identifiers": "names are not distinguished by case"); paths, session names and federated user
//! names compare exactly.
//!
//! Deny by default: an empty list admits nobody, and a malformed entry is dropped (never read as
//! a prefix or widened) and reported by its position ([`AllowList::dropped`]); the cold start logs
//! it (`Config::log_cold_start`). The template's `AllowedPattern` refuses the same entries before a
//! deploy; `tests/template.rs` holds the two to one table.

/// One allow-list, parsed once from its comma-separated form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<Principal<String>>,
    /// 1-based positions (among the comma-separated items) of the entries dropped as malformed.
    dropped: Vec<usize>,
}

/// A principal ARN or pattern, by its parts: owned for an entry, borrowed from the request for a
/// caller (so a check allocates nothing). An entry's segments may hold `*`; a caller's never act
/// as one, and IAM and STS names cannot contain it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Principal<S> {
    partition: S,
    account: S,
    kind: Kind<S>,
}

/// `path`: the segments between `user/` or `role/` and the name, joined by `/` (empty for none).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind<S> {
    Root,
    User { path: S, name: S },
    Role { path: S, name: S },
    Session { role: S, session: S },
    FederatedUser { name: S },
}

impl AllowList {
    pub fn parse(text: &str) -> Self {
        let mut list = AllowList::default();
        for (index, item) in text.split(',').map(str::trim).enumerate() {
            if item.is_empty() {
                continue;
            }
            match Principal::parse(item, true) {
                Some(principal) => list.entries.push(principal.to_owned()),
                None => list.dropped.push(index + 1),
            }
        }
        list
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many entries were kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The 1-based positions of the entries dropped as malformed (positions, never values: an
    /// operator may have pasted something that is not theirs to log).
    pub fn dropped(&self) -> &[usize] {
        &self.dropped
    }

    /// Whether `caller` (an IAM principal ARN, from the request context) is on the list.
    pub fn admits(&self, caller: &str) -> bool {
        let Some(caller) = Principal::parse(caller, false) else {
            return false;
        };
        self.entries.iter().any(|entry| entry.admits(&caller))
    }
}

impl<'a> Principal<&'a str> {
    /// Parses a principal ARN; `pattern`: an allow-list entry, whose name segments may hold `*`
    /// and must use IAM's characters (`[A-Za-z0-9+=.@_-]`, the template's `AllowedPattern`). A
    /// caller's segments are only required to be non-empty and free of wildcards.
    fn parse(text: &'a str, pattern: bool) -> Option<Self> {
        let mut parts = text.split(':');
        let (Some("arn"), Some(partition), Some(service), Some(""), Some(account), Some(resource), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let partition_ok = partition
            .strip_prefix("aws")
            .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        if !partition_ok || !account_ok {
            return None;
        }
        let segment_ok = |segment: &str| {
            !segment.is_empty()
                && match pattern {
                    true => segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+=.@_-*".contains(&b)),
                    false => !segment.contains(['*', '?']) && !segment.chars().any(char::is_control),
                }
        };
        // `count` segments, each well formed.
        let segments = |rest: &str, count: Option<usize>| {
            rest.split('/').all(segment_ok) && count.is_none_or(|count| rest.split('/').count() == count)
        };
        let kind = match (service, resource) {
            ("iam", "root") => Kind::Root,
            ("iam", resource) => {
                let (kind, rest) = resource.split_once('/')?;
                if !segments(rest, None) {
                    return None;
                }
                let (path, name) = rest.rsplit_once('/').unwrap_or(("", rest));
                match kind {
                    "user" => Kind::User { path, name },
                    "role" => Kind::Role { path, name },
                    _ => return None,
                }
            }
            ("sts", resource) => match resource.split_once('/')? {
                ("assumed-role", rest) if segments(rest, Some(2)) => {
                    let (role, session) = rest.split_once('/')?;
                    Kind::Session { role, session }
                }
                ("federated-user", name) if segments(name, Some(1)) => Kind::FederatedUser { name },
                _ => return None,
            },
            _ => return None,
        };
        Some(Principal {
            partition,
            account,
            kind,
        })
    }

    fn to_owned(&self) -> Principal<String> {
        let own = |text: &str| text.to_owned();
        Principal {
            partition: own(self.partition),
            account: own(self.account),
            kind: match self.kind {
                Kind::Root => Kind::Root,
                Kind::User { path, name } => Kind::User {
                    path: own(path),
                    name: own(name),
                },
                Kind::Role { path, name } => Kind::Role {
                    path: own(path),
                    name: own(name),
                },
                Kind::Session { role, session } => Kind::Session {
                    role: own(role),
                    session: own(session),
                },
                Kind::FederatedUser { name } => Kind::FederatedUser { name: own(name) },
            },
        }
    }
}

impl Principal<String> {
    /// Whether this entry admits `caller`, the partition and the account matched exactly.
    fn admits(&self, caller: &Principal<&str>) -> bool {
        if self.partition != caller.partition || self.account != caller.account {
            return false;
        }
        match (&self.kind, &caller.kind) {
            (Kind::Root, Kind::Root) => true,
            (
                Kind::User { path, name },
                Kind::User {
                    path: their_path,
                    name: their_name,
                },
            )
            | (
                Kind::Role { path, name },
                Kind::Role {
                    path: their_path,
                    name: their_name,
                },
            ) => same_path(path, their_path) && glob_ignoring_case(name, their_name),
            // A session ARN has no path: the role's name, unique in its account, is what matches.
            (Kind::Role { name, .. }, Kind::Session { role, .. }) => glob_ignoring_case(name, role),
            (
                Kind::Session { role, session },
                Kind::Session {
                    role: their_role,
                    session: their_session,
                },
            ) => glob_ignoring_case(role, their_role) && glob(session, their_session),
            (Kind::FederatedUser { name }, Kind::FederatedUser { name: their_name }) => glob(name, their_name),
            (
                Kind::Root | Kind::User { .. } | Kind::Role { .. } | Kind::Session { .. } | Kind::FederatedUser { .. },
                _,
            ) => false,
        }
    }
}

/// Paths segment by segment: as many segments, each matched on its own.
fn same_path(pattern: &str, path: &str) -> bool {
    pattern.split('/').count() == path.split('/').count()
        && pattern
            .split('/')
            .zip(path.split('/'))
            .all(|(mine, theirs)| glob(mine, theirs))
}

/// `pattern` against one segment: `*` matches any run of bytes (the segment has no `/`).
fn glob(pattern: &str, text: &str) -> bool {
    glob_by(pattern.as_bytes(), text.as_bytes(), |a, b| a == b)
}

fn glob_ignoring_case(pattern: &str, text: &str) -> bool {
    glob_by(pattern.as_bytes(), text.as_bytes(), |a, b| a.eq_ignore_ascii_case(&b))
}

/// Wildcard matching with one backtrack point, iterative: linear in practice, no recursion.
fn glob_by(pattern: &[u8], text: &[u8], same: impl Fn(u8, u8) -> bool) -> bool {
    let (mut p, mut t, mut star, mut resume) = (0, 0, None, 0);
    while t < text.len() {
        if p < pattern.len() && pattern[p] != b'*' && same(pattern[p], text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            p += 1;
            resume = t;
        } else if let Some(at) = star {
            p = at + 1;
            resume += 1;
            t = resume;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|b| *b == b'*')
}

/// What an operation needs of its caller: to be on one of the lists. Every read, of the key or of
/// the sensors, is for readers; a regenerate is for rotators; an activation (or a change of the
/// activation mode), which deploys software on domain controllers, is for activators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ReadKey,
    RegenerateKey,
    ActivateSensors,
}

impl Permission {
    pub fn name(self) -> &'static str {
        match self {
            Permission::ReadKey => "read-key",
            Permission::RegenerateKey => "regenerate-key",
            Permission::ActivateSensors => "activate-sensors",
        }
    }
}

/// The allow-lists together.
#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    pub readers: AllowList,
    pub rotators: AllowList,
    pub activators: AllowList,
}

impl AccessPolicy {
    pub fn allows(&self, caller: &str, permission: Permission) -> bool {
        match permission {
            Permission::ReadKey => self.readers.admits(caller),
            Permission::RegenerateKey => self.rotators.admits(caller),
            Permission::ActivateSensors => self.activators.admits(caller),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "arn:aws:iam::123456789012:user/alice";

    #[test]
    fn a_star_matches_any_run_within_a_segment_and_literals_match_exactly() {
        assert!(glob("ops-*", "ops-"));
        assert!(glob("*-admin-*", "eu-admin-7"));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b", "aXbY"));
        assert!(!glob("ops", "Ops"));
        assert!(glob_ignoring_case("Ops-*", "oPS-x"));
        assert!(glob("", "") && !glob("", "x"));
    }

    #[test]
    fn an_empty_list_admits_nobody() {
        assert!(!AllowList::parse("").admits(ALICE));
        assert!(!AllowList::parse(" , ,").admits(ALICE));
        assert!(AllowList::parse(" , ,").dropped().is_empty());
    }

    #[test]
    fn an_exact_entry_admits_only_that_principal() {
        let list = AllowList::parse(&format!(" {ALICE} ,arn:aws:iam::123456789012:user/bob"));
        assert!(list.admits(ALICE));
        assert!(!list.admits("arn:aws:iam::123456789012:user/alicea"));
        assert!(!list.admits("arn:aws:iam::123456789012:user/team/alice"));
        assert!(!list.admits("arn:aws:iam::210987654321:user/alice"));
        assert!(!list.admits(""));
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn user_and_role_names_compare_as_iam_does_regardless_of_case_and_sessions_exactly() {
        let list = AllowList::parse(
            "arn:aws:iam::123456789012:user/Alice,arn:aws:iam::123456789012:role/Sensor-Installer,arn:aws:sts::123456789012:assumed-role/ci/Build-42",
        );
        assert!(list.admits("arn:aws:iam::123456789012:user/ALICE"));
        assert!(list.admits("arn:aws:sts::123456789012:assumed-role/sensor-installer/i-0abc"));
        assert!(list.admits("arn:aws:sts::123456789012:assumed-role/CI/Build-42"));
        assert!(!list.admits("arn:aws:sts::123456789012:assumed-role/ci/build-42"));
    }

    #[test]
    fn a_star_matches_within_one_part_and_never_across_a_slash() {
        let list = AllowList::parse("arn:aws:iam::123456789012:user/ops-*");
        assert!(list.admits("arn:aws:iam::123456789012:user/ops-carol"));
        assert!(!list.admits("arn:aws:iam::123456789012:user/dev-carol"));
        assert!(!list.admits("arn:aws:iam::123456789012:user/ops-x/evil"));
        let sessions = AllowList::parse("arn:aws:sts::123456789012:assumed-role/ci-deployer/*");
        assert!(sessions.admits("arn:aws:sts::123456789012:assumed-role/ci-deployer/build-1"));
        assert!(!sessions.admits("arn:aws:sts::123456789012:assumed-role/ci-deployer-2/build-1"));
    }

    #[test]
    fn a_role_pattern_admits_the_sessions_of_the_roles_it_names() {
        let list = AllowList::parse("arn:aws:iam::123456789012:role/ops-*");
        assert!(list.admits("arn:aws:sts::123456789012:assumed-role/ops-admin/alice"));
        assert!(list.admits("arn:aws:iam::123456789012:role/ops-admin"));
        assert!(!list.admits("arn:aws:sts::123456789012:assumed-role/dev-admin/alice"));
    }

    #[test]
    fn every_malformed_entry_of_issue_21_is_dropped_by_position_and_admits_nobody() {
        for entry in [
            "*",
            "arn:*",
            "arn:aws:*",
            "arn:aws:iam::12345678901*",
            "arn:aws:iam::12345678901*:role/x",
            "arn:aws:iam::*:role/x",
            "arn:*:iam::123456789012:role/x",
            "arn:aws:iam::123456789012:*",
            "arn:aws:iam::123456789012:r*/x",
            "arn:aws:iam::123456789012:group/admins",
            "arn:aws:iam:us-east-1:123456789012:role/x",
            "arn:aws:sts::123456789012:assumed-role/x",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/a?b",
        ] {
            let list = AllowList::parse(&format!("{ALICE},{entry}"));
            assert_eq!(list.dropped(), &[2], "{entry}");
            assert_eq!(list.len(), 1, "{entry}");
            for caller in [
                "arn:aws:iam::123456789012:user/bob",
                "arn:aws:iam::123456789011:role/x",
                "arn:aws:sts::123456789012:assumed-role/x/s",
                "arn:aws:iam::123456789012:role/x",
            ] {
                assert!(!list.admits(caller), "{entry} admits {caller}");
            }
        }
    }

    #[test]
    fn two_roles_joined_by_a_space_are_one_malformed_entry_that_admits_neither_nor_a_third() {
        let list = AllowList::parse(
            "arn:aws:iam::123456789012:role/sensor-installer arn:aws:iam::210987654321:role/ci-deployer",
        );
        assert_eq!(list.dropped(), &[1]);
        for caller in [
            "arn:aws:sts::123456789012:assumed-role/ci-deployer/build",
            "arn:aws:sts::123456789012:assumed-role/sensor-installer/i-0abc",
            "arn:aws:sts::210987654321:assumed-role/ci-deployer/build",
        ] {
            assert!(!list.admits(caller), "{caller}");
        }
    }

    #[test]
    fn the_root_and_federated_users_are_principals_and_nothing_else_of_the_account_is() {
        let list =
            AllowList::parse("arn:aws:iam::123456789012:root,arn:aws-us-gov:sts::123456789012:federated-user/bob");
        assert!(list.admits("arn:aws:iam::123456789012:root"));
        assert!(!list.admits(ALICE), "the root entry is the root, not the account");
        assert!(list.admits("arn:aws-us-gov:sts::123456789012:federated-user/bob"));
        assert!(!list.admits("arn:aws:sts::123456789012:federated-user/bob"));
    }

    #[test]
    fn a_role_admits_its_assumed_role_sessions_but_not_other_roles() {
        let list = AllowList::parse("arn:aws:iam::123456789012:role/sensor-installer");
        assert!(list.admits("arn:aws:iam::123456789012:role/sensor-installer"));
        assert!(list.admits("arn:aws:sts::123456789012:assumed-role/sensor-installer/i-0abc"));
        assert!(!list.admits("arn:aws:sts::123456789012:assumed-role/sensor-installer-2/i-0abc"));
        assert!(!list.admits("arn:aws:sts::999999999999:assumed-role/sensor-installer/i-0abc"));
    }

    #[test]
    fn a_role_with_a_path_admits_sessions_named_by_its_last_segment_in_its_partition() {
        let list = AllowList::parse("arn:aws-us-gov:iam::123456789012:role/platform/sensor-installer");
        assert!(list.admits("arn:aws-us-gov:sts::123456789012:assumed-role/sensor-installer/ci"));
        assert!(!list.admits("arn:aws:sts::123456789012:assumed-role/sensor-installer/ci"));
    }

    #[test]
    fn readers_cannot_regenerate_and_rotators_cannot_read() {
        let policy = AccessPolicy {
            readers: AllowList::parse(ALICE),
            rotators: AllowList::parse("arn:aws:iam::123456789012:user/bob"),
            activators: AllowList::default(),
        };
        assert!(policy.allows(ALICE, Permission::ReadKey));
        assert!(!policy.allows(ALICE, Permission::RegenerateKey));
        assert!(policy.allows("arn:aws:iam::123456789012:user/bob", Permission::RegenerateKey));
        assert!(!policy.allows("arn:aws:iam::123456789012:user/bob", Permission::ReadKey));
    }

    #[test]
    fn only_activators_may_activate_and_an_empty_list_admits_nobody() {
        let policy = AccessPolicy {
            readers: AllowList::parse(ALICE),
            rotators: AllowList::parse(ALICE),
            activators: AllowList::default(),
        };
        assert!(
            !policy.allows(ALICE, Permission::ActivateSensors),
            "readers and rotators are not activators"
        );
        let policy = AccessPolicy {
            activators: AllowList::parse(ALICE),
            ..AccessPolicy::default()
        };
        assert!(policy.allows(ALICE, Permission::ActivateSensors));
        assert!(!policy.allows(ALICE, Permission::ReadKey));
    }
}
