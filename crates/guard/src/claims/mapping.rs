//! Where the guard finds a token's roles, groups and display name: configurable claim paths
//! (`roles`, `realm_access.roles`) and the typed reading of what sits there (RS-9).

use crate::rejection::FailureReason;
use serde_json::Value;

/// A claim named by a dotted path: `roles` is a top-level claim, `realm_access.roles` walks
/// into nested objects. No segment is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimPath(Vec<String>);

impl ClaimPath {
    /// The path `path` names, or `None` when a segment is empty (`""`, `a..b`, `.a`).
    pub(crate) fn parse(path: &str) -> Option<Self> {
        let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            None
        } else {
            Some(Self(segments))
        }
    }

    /// The value at the path; `None` when a step is missing or is not an object.
    fn find<'a>(&self, raw: &'a Value) -> Option<&'a Value> {
        self.0
            .iter()
            .try_fold(raw, |node, segment| node.get(segment.as_str()))
    }
}

/// The claim paths of the roles, the groups and the name, set on the guard builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimMapping {
    pub(crate) roles: ClaimPath,
    pub(crate) groups: ClaimPath,
    pub(crate) name: ClaimPath,
}

/// What the mapping found in one token.
#[derive(Debug, Clone, Default)]
pub(crate) struct Membership {
    pub(crate) roles: Vec<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) name: Option<String>,
}

impl ClaimMapping {
    /// Reads the roles, groups and name of `raw`; a claim of the wrong type is an error (RS-9).
    pub(crate) fn read(&self, raw: &Value) -> Result<Membership, FailureReason> {
        Ok(Membership {
            roles: string_list(self.roles.find(raw), "roles")?,
            groups: string_list(self.groups.find(raw), "groups")?,
            name: match self.name.find(raw) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(FailureReason::InvalidClaim("name")),
            },
        })
    }
}

/// A list of strings (RFC 9068 §2.2.3.1): a JSON array of strings, or one string standing for
/// a list of one. Absent or `null` is the empty list; anything else is an error.
fn string_list(value: Option<&Value>, claim: &'static str) -> Result<Vec<String>, FailureReason> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                _ => Err(FailureReason::InvalidClaim(claim)),
            })
            .collect(),
        Some(_) => Err(FailureReason::InvalidClaim(claim)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping(roles: &str, groups: &str, name: &str) -> ClaimMapping {
        ClaimMapping {
            roles: ClaimPath::parse(roles).unwrap(),
            groups: ClaimPath::parse(groups).unwrap(),
            name: ClaimPath::parse(name).unwrap(),
        }
    }

    fn invalid_claim(result: Result<Membership, FailureReason>) -> &'static str {
        match result {
            Err(FailureReason::InvalidClaim(claim)) => claim,
            other => panic!("expected an invalid claim, got {other:?}"),
        }
    }

    #[test]
    fn paths_without_empty_segments_parse() {
        assert!(ClaimPath::parse("realm_access.roles").is_some());
        for bad in ["", ".", "a..b", ".a", "a."] {
            assert_eq!(ClaimPath::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn roles_groups_and_name_are_read_from_their_paths() {
        let raw = json!({
            "roles": ["orders:write", "viewer"],
            "groups": ["staff", "eu"],
            "name": "Alice Example",
            "org": {"teams": ["blue"], "display": {"name": "A. Example"}},
        });
        let found = mapping("roles", "groups", "name").read(&raw).unwrap();
        assert_eq!(found.roles, ["orders:write", "viewer"]);
        assert_eq!(found.groups, ["staff", "eu"]);
        assert_eq!(found.name.as_deref(), Some("Alice Example"));

        let found = mapping("groups", "org.teams", "org.display.name")
            .read(&raw)
            .unwrap();
        assert_eq!(found.roles, ["staff", "eu"]);
        assert_eq!(found.groups, ["blue"]);
        assert_eq!(found.name.as_deref(), Some("A. Example"));
    }

    #[test]
    fn absent_and_null_claims_are_empty() {
        let defaults = mapping("roles", "groups", "name");
        for raw in [
            json!({}),
            json!({"roles": null, "groups": null, "name": null}),
        ] {
            let found = defaults.read(&raw).unwrap();
            assert!(found.roles.is_empty() && found.groups.is_empty());
            assert_eq!(found.name, None);
        }
        // A path through something that is not an object finds nothing.
        let found = mapping("org.roles", "org.groups", "org.name")
            .read(&json!({"org": "acme"}))
            .unwrap();
        assert!(found.roles.is_empty() && found.groups.is_empty());
        assert_eq!(found.name, None);
    }

    #[test]
    fn a_single_string_is_a_list_of_one() {
        let found = mapping("roles", "groups", "name")
            .read(&json!({"roles": "admin", "groups": "staff,eu"}))
            .unwrap();
        assert_eq!(found.roles, ["admin"]);
        // No splitting: a list is an array (RFC 9068 §2.2.3.1).
        assert_eq!(found.groups, ["staff,eu"]);
    }

    #[test]
    fn rs_9_wrongly_typed_roles_groups_and_name_are_errors() {
        let defaults = mapping("roles", "groups", "name");
        for (raw, claim) in [
            (json!({"roles": [1]}), "roles"),
            (json!({"roles": {"admin": true}}), "roles"),
            (json!({"groups": [["staff"]]}), "groups"),
            (json!({"groups": [null]}), "groups"),
            (json!({"groups": 7}), "groups"),
            (json!({"groups": true}), "groups"),
            (json!({"name": ["Alice"]}), "name"),
            (json!({"name": 42}), "name"),
            (json!({"name": {"given": "Alice"}}), "name"),
        ] {
            assert_eq!(invalid_claim(defaults.read(&raw)), claim, "{raw}");
        }
        let nested = mapping("roles", "org.groups", "org.name");
        assert_eq!(
            invalid_claim(nested.read(&json!({"org": {"groups": [false]}}))),
            "groups"
        );
        assert_eq!(
            invalid_claim(nested.read(&json!({"org": {"name": 1.5}}))),
            "name"
        );
    }
}
