//! Who may do what: the caller's IAM principal checked against the `KEY_READERS`, `KEY_ROTATORS`
//! and `SENSOR_ACTIVATORS` allow-lists.
//!
//! Deny by default: an empty list admits nobody. An IAM role ARN also admits the STS sessions of
//! that role, because a role's callers present `arn:aws:sts::ACCT:assumed-role/NAME/SESSION`, never
//! the role ARN itself.

/// One allow-list, parsed once from its comma-separated form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Exact(String),
    Prefix(String),
}

impl AllowList {
    pub fn parse(text: &str) -> Self {
        let mut entries = Vec::new();
        for item in text.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            if let Some(prefix) = item.strip_suffix('*') {
                entries.push(Entry::Prefix(prefix.to_owned()));
                continue;
            }
            if let Some(sessions) = assumed_role_prefix(item) {
                entries.push(Entry::Prefix(sessions));
            }
            entries.push(Entry::Exact(item.to_owned()));
        }
        AllowList { entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `caller` (an IAM principal ARN) is on the list.
    pub fn admits(&self, caller: &str) -> bool {
        !caller.is_empty()
            && self.entries.iter().any(|entry| match entry {
                Entry::Exact(arn) => arn == caller,
                // An empty prefix (a lone `*`) would admit everyone; that must be spelt out, not implied.
                Entry::Prefix(prefix) => !prefix.is_empty() && caller.starts_with(prefix.as_str()),
            })
    }
}

/// `arn:PARTITION:iam::ACCT:role/PATH/NAME` -> `arn:PARTITION:sts::ACCT:assumed-role/NAME/`.
/// Session ARNs drop the role's path, so only its last segment is kept.
fn assumed_role_prefix(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    if partition.is_empty() || account.is_empty() || name.is_empty() {
        return None;
    }
    Some(format!("arn:{partition}:sts::{account}:assumed-role/{name}/"))
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
    fn an_empty_list_admits_nobody() {
        assert!(!AllowList::parse("").admits(ALICE));
        assert!(!AllowList::parse(" , ,").admits(ALICE));
    }

    #[test]
    fn an_exact_entry_admits_only_that_principal() {
        let list = AllowList::parse(&format!(" {ALICE} ,arn:aws:iam::123456789012:user/bob"));
        assert!(list.admits(ALICE));
        assert!(!list.admits("arn:aws:iam::123456789012:user/alicea"));
        assert!(!list.admits("arn:aws:iam::123456789012:user/ALICE"));
        assert!(!list.admits(""));
    }

    #[test]
    fn a_trailing_star_is_a_prefix_match() {
        let list = AllowList::parse("arn:aws:iam::123456789012:user/ops-*");
        assert!(list.admits("arn:aws:iam::123456789012:user/ops-carol"));
        assert!(!list.admits("arn:aws:iam::123456789012:user/dev-carol"));
    }

    #[test]
    fn a_lone_star_does_not_admit_everyone() {
        assert!(!AllowList::parse("*").admits(ALICE));
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
