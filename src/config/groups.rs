//! Target groups: any target names its groups (`[postgres.replica-1]
//! group = "replicas"`, or a list), and a `[groups]` table lists members
//! as `kind.name` (`replicas = ["postgres.replica-1", "postgres.replica-2"]`).
//! Both add up; a member that names no target is refused when the config
//! loads, with the nearest name.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use super::Config;

/// The kinds of target a group can hold, as `config::targets` names them.
pub const KINDS: [&str; 6] = ["postgres", "redis", "s3", "smtp", "http", "docker"];

/// `group = "replicas"` or `group = ["replicas", "eu"]`.
pub fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::One(s) => vec![s],
        Raw::Many(v) => v,
    })
}

impl Config {
    /// The groups a target's own `group` key names.
    fn own_groups(&self, kind: &str, name: &str) -> Vec<String> {
        let g = match kind {
            "postgres" => self.postgres.get(name).map(|t| &t.group),
            "redis" => self.redis.get(name).map(|t| &t.group),
            "s3" => self.s3.get(name).map(|t| &t.group),
            "smtp" => self.smtp.get(name).map(|t| &t.group),
            "http" => self.http.get(name).map(|t| &t.group),
            "docker" => self.docker_engines.get(name).map(|t| &t.group),
            _ => None,
        };
        g.cloned().unwrap_or_default()
    }

    /// Every group a target is in: its own `group`, then `[groups]`'s.
    pub fn groups_of(&self, kind: &str, name: &str) -> Vec<String> {
        let member = format!("{kind}.{name}");
        let mut out = self.own_groups(kind, name);
        for (g, members) in &self.groups {
            if members.contains(&member) && !out.contains(g) {
                out.push(g.clone());
            }
        }
        out
    }

    /// Every group, with its members as (kind, name), in name order.
    pub fn all_groups(&self) -> BTreeMap<String, Vec<(String, String)>> {
        let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for kind in KINDS {
            for name in self.target_names(kind) {
                for g in self.groups_of(kind, &name) {
                    out.entry(g).or_default().push((kind.to_string(), name.clone()));
                }
            }
        }
        out
    }

    /// `None` when `group` exists; else the help for a group that does
    /// not: the nearest name, and the groups there are.
    pub fn unknown_group(&self, group: &str) -> Option<String> {
        let groups = self.all_groups();
        if groups.contains_key(group) {
            return None;
        }
        let near = crate::suggest::DidYouMean::find(group, groups.keys().map(String::as_str));
        let known = if groups.is_empty() {
            "no target names a group: `group = \"NAME\"` on a target, or a [groups] table".to_string()
        } else {
            format!("groups: {}", groups.keys().cloned().collect::<Vec<_>>().join(", "))
        };
        Some(crate::suggest::DidYouMean::then(near, known))
    }

    /// The names of `kind`'s targets in `group`, in name order.
    pub fn targets_in(&self, kind: &str, group: &str) -> Vec<String> {
        self.target_names(kind).into_iter().filter(|n| self.groups_of(kind, n).iter().any(|g| g == group)).collect()
    }

    /// `[groups]` members must be targets; group names must be words.
    pub(super) fn check_groups(&self) -> Result<(), String> {
        for kind in KINDS {
            for name in self.target_names(kind) {
                for g in self.own_groups(kind, &name) {
                    if g.trim().is_empty() || g.contains(char::is_whitespace) {
                        return Err(format!(
                            "key `{kind}.{name}.group`: `{g}` is not a group name (one word, e.g. \"replicas\")"
                        ));
                    }
                }
            }
        }
        let every: Vec<String> =
            KINDS.iter().flat_map(|k| self.target_names(k).into_iter().map(move |n| format!("{k}.{n}"))).collect();
        for (g, members) in &self.groups {
            for m in members {
                if !every.contains(m) {
                    let near = crate::suggest::DidYouMean::find(m, every.iter().map(String::as_str))
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default();
                    return Err(format!(
                        "key `groups.{g}`: `{m}` is no target{near}; members are written KIND.NAME, e.g. \"postgres.replica-1\""
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_its_members_own_key_and_the_groups_table() {
        let c = Config::parse(
            "[postgres.main]\nurl = \"postgres://a/b\"\n[postgres.replica-1]\nurl = \"postgres://r1/b\"\ngroup = \"replicas\"\n\
             [postgres.replica-2]\nurl = \"postgres://r2/b\"\n[redis.cache]\nurl = \"redis://c\"\ngroup = [\"eu\", \"replicas\"]\n\
             [groups]\nreplicas = [\"postgres.replica-2\"]\n",
            "test",
        )
        .unwrap();
        assert_eq!(c.targets_in("postgres", "replicas"), ["replica-1", "replica-2"]);
        assert_eq!(c.targets_in("redis", "replicas"), ["cache"]);
        assert_eq!(c.groups_of("redis", "cache"), ["eu", "replicas"]);
        let all: Vec<String> = c.all_groups().keys().cloned().collect();
        assert_eq!(all, ["eu", "replicas"]);
        let bad =
            Config::parse("[postgres.main]\nurl = \"postgres://a/b\"\n[groups]\ndbs = [\"postgres.mian\"]\n", "test")
                .unwrap_err();
        assert!(
            bad.message.contains("key `groups.dbs`: `postgres.mian` is no target (did you mean `postgres.main`?)"),
            "{}",
            bad.message
        );
    }
}
