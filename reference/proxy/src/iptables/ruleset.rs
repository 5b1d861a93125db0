//! An `iptables-restore` document being built: tables of chain declarations and rules,
//! printed in one canonical order. Entry point: [`Ruleset::to_restore_input`].
//!
//! Upstream writes rules in the (random) order it walks its service map, and its tests
//! compare after `sortIPTablesRules`: tables by name; chains with `KUBE-NODEPORTS` first,
//! `KUBE-SERVICES` second, then alphabetically; rules grouped by chain, keeping their
//! relative order. We print that canonical form directly, so the output is deterministic
//! and equal to upstream's expectations byte for byte; `iptables-restore` reads it the same
//! (the order of rules within a chain is all that matters to it).

use std::cmp::Ordering;

/// One table (`filter` or `nat`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    chains: Vec<String>,
    rules: Vec<(String, String)>,
    deletions: Vec<String>,
}

/// Order of chains in upstream's canonical dump.
fn chain_order(a: &str, b: &str) -> Ordering {
    let rank = |c: &str| match c {
        "KUBE-NODEPORTS" => 0,
        "KUBE-SERVICES" => 1,
        c if c.starts_with("KUBE-") => 2,
        _ => 3,
    };
    rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
}

impl Table {
    /// Declare a chain (`:NAME - [0:0]`); declaring twice is harmless.
    pub fn chain(&mut self, name: &str) {
        if !self.chains.iter().any(|c| c == name) {
            self.chains.push(name.to_string());
        }
    }

    /// Append `-A <chain> <args...>`.
    pub fn rule<S: AsRef<str>>(&mut self, chain: &str, args: &[S]) {
        let mut line = format!("-A {chain}");
        for a in args {
            line.push(' ');
            line.push_str(a.as_ref());
        }
        self.rules.push((chain.to_string(), line));
    }

    /// Flush and delete a chain (`:NAME` then `-X NAME`), for chains no longer in use.
    pub fn delete_chain(&mut self, name: &str) {
        self.chain(name);
        self.deletions.push(name.to_string());
    }

    /// Declared chain names.
    pub fn chains(&self) -> impl Iterator<Item = &str> {
        self.chains.iter().map(String::as_str)
    }

    /// The rules of one chain, in order, as printed (`-A CHAIN ...`).
    pub fn rules_of(&self, chain: &str) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|(c, _)| c == chain)
            .map(|(_, l)| l.as_str())
            .collect()
    }

    /// Number of `-A` rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    fn write(&self, name: &str, out: &mut String) {
        let mut chains = self.chains.clone();
        chains.sort_by(|a, b| chain_order(a, b));
        out.push('*');
        out.push_str(name);
        out.push('\n');
        for c in &chains {
            out.push_str(&format!(":{c} - [0:0]\n"));
        }
        for c in &chains {
            for (_, line) in self.rules.iter().filter(|(rc, _)| rc == c) {
                out.push_str(line);
                out.push('\n');
            }
        }
        // Rules for undeclared chains would make iptables-restore fail; keep them visible
        // (in insertion order) rather than silently dropping them.
        for (c, line) in &self.rules {
            if !chains.contains(c) {
                out.push_str(line);
                out.push('\n');
            }
        }
        for d in &self.deletions {
            out.push_str(&format!("-X {d}\n"));
        }
        out.push_str("COMMIT\n");
    }
}

/// The filter and nat tables kube-proxy writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ruleset {
    /// The `filter` table.
    pub filter: Table,
    /// The `nat` table.
    pub nat: Table,
}

impl Ruleset {
    /// The full `iptables-restore` input (`*filter ... COMMIT\n*nat ... COMMIT\n`).
    pub fn to_restore_input(&self) -> String {
        let mut out = String::new();
        self.filter.write("filter", &mut out);
        self.nat.write("nat", &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_print_nodeports_then_services_then_alphabetically() {
        let mut t = Table::default();
        for c in [
            "KUBE-SVC-B",
            "KUBE-SERVICES",
            "KUBE-MARK-MASQ",
            "KUBE-NODEPORTS",
            "KUBE-SEP-A",
        ] {
            t.chain(c);
        }
        let mut out = String::new();
        t.write("nat", &mut out);
        assert_eq!(
            out,
            "*nat\n:KUBE-NODEPORTS - [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n\
             :KUBE-SEP-A - [0:0]\n:KUBE-SVC-B - [0:0]\nCOMMIT\n"
        );
    }

    #[test]
    fn rules_are_grouped_by_chain_keeping_their_order() {
        let mut t = Table::default();
        t.chain("KUBE-SERVICES");
        t.chain("KUBE-MARK-MASQ");
        t.rule("KUBE-MARK-MASQ", &["-j", "MARK"]);
        t.rule("KUBE-SERVICES", &["-j", "A"]);
        t.rule("KUBE-SERVICES", &["-j", "B"]);
        let mut out = String::new();
        t.write("nat", &mut out);
        let lines: Vec<&str> = out.lines().skip(3).collect();
        assert_eq!(
            lines,
            [
                "-A KUBE-SERVICES -j A",
                "-A KUBE-SERVICES -j B",
                "-A KUBE-MARK-MASQ -j MARK",
                "COMMIT"
            ]
        );
    }

    #[test]
    fn deleted_chains_are_declared_then_removed() {
        let mut t = Table::default();
        t.delete_chain("KUBE-SVC-OLD");
        let mut out = String::new();
        t.write("nat", &mut out);
        assert_eq!(
            out,
            "*nat\n:KUBE-SVC-OLD - [0:0]\n-X KUBE-SVC-OLD\nCOMMIT\n"
        );
    }
}
