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
use std::collections::{HashMap, HashSet};

/// One table (`filter` or `nat`).
///
/// Rules are kept once in insertion order and indexed per chain, and declared chains are
/// also kept in a set, so building and printing stay linear in the number of rules (a
/// 1000-service ruleset has ~25 000 rules and ~12 000 chains).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// Declared chains, in declaration order (the order [`Table::chains`] reports).
    chains: Vec<String>,
    /// The same names as `chains`, for O(1) membership tests.
    declared: HashSet<String>,
    /// Every rule as `(chain, printed line)`, in insertion order: rules of undeclared
    /// chains are printed in this order.
    rules: Vec<(String, String)>,
    /// Per chain, the indices into `rules` of its rules, in insertion order.
    by_chain: HashMap<String, Vec<usize>>,
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
        if !self.declared.contains(name) {
            self.declared.insert(name.to_string());
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
        let index = self.rules.len();
        match self.by_chain.get_mut(chain) {
            Some(indices) => indices.push(index),
            None => {
                self.by_chain.insert(chain.to_string(), vec![index]);
            }
        }
        self.rules.push((chain.to_string(), line));
    }

    /// Flush and delete a chain (`:NAME` then `-X NAME`), for chains no longer in use.
    pub fn delete_chain(&mut self, name: &str) {
        self.chain(name);
        self.deletions.push(name.to_string());
    }

    /// Declared chain names, in declaration order.
    pub fn chains(&self) -> impl Iterator<Item = &str> {
        self.chains.iter().map(String::as_str)
    }

    /// Whether `name` has been declared.
    pub fn has_chain(&self, name: &str) -> bool {
        self.declared.contains(name)
    }

    /// The rules of one chain, in order, as printed (`-A CHAIN ...`).
    pub fn rules_of(&self, chain: &str) -> Vec<&str> {
        self.lines_of(chain).collect()
    }

    /// Number of `-A` rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    fn lines_of<'a>(&'a self, chain: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.by_chain
            .get(chain)
            .into_iter()
            .flatten()
            .map(|&i| self.rules[i].1.as_str())
    }

    fn write(&self, name: &str, out: &mut String) {
        let mut chains: Vec<&str> = self.chains.iter().map(String::as_str).collect();
        chains.sort_by(|a, b| chain_order(a, b));
        out.push('*');
        out.push_str(name);
        out.push('\n');
        for c in &chains {
            out.push(':');
            out.push_str(c);
            out.push_str(" - [0:0]\n");
        }
        for c in &chains {
            for line in self.lines_of(c) {
                out.push_str(line);
                out.push('\n');
            }
        }
        // Rules for undeclared chains would make iptables-restore fail; keep them visible
        // (in insertion order) rather than silently dropping them.
        for (c, line) in &self.rules {
            if !self.declared.contains(c) {
                out.push_str(line);
                out.push('\n');
            }
        }
        for d in &self.deletions {
            out.push_str("-X ");
            out.push_str(d);
            out.push('\n');
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
    fn rules_of_undeclared_chains_follow_in_insertion_order() {
        let mut t = Table::default();
        t.rule("X", &["-j", "1"]);
        t.rule("KUBE-A", &["-j", "2"]);
        t.rule("Y", &["-j", "3"]);
        t.rule("X", &["-j", "4"]);
        // Declared after its rules: still printed with its chain.
        t.chain("KUBE-A");
        let mut out = String::new();
        t.write("nat", &mut out);
        assert_eq!(
            out,
            "*nat\n:KUBE-A - [0:0]\n-A KUBE-A -j 2\n-A X -j 1\n-A Y -j 3\n-A X -j 4\nCOMMIT\n"
        );
        assert_eq!(t.rules_of("X"), ["-A X -j 1", "-A X -j 4"]);
        assert!(t.rules_of("Z").is_empty());
        assert_eq!(t.rule_count(), 4);
    }

    #[test]
    fn declaring_a_chain_twice_keeps_its_first_position() {
        let mut t = Table::default();
        t.chain("B");
        t.chain("A");
        t.chain("B");
        assert_eq!(t.chains().collect::<Vec<_>>(), ["B", "A"]);
        assert!(t.has_chain("A"));
        assert!(!t.has_chain("C"));
    }

    /// The straightforward quadratic printer this module used before rules were indexed
    /// per chain: the indexed one must print the same bytes.
    fn naive_write(ops: &[(u8, String)], name: &str) -> String {
        let mut chains: Vec<String> = Vec::new();
        let mut rules: Vec<(String, String)> = Vec::new();
        let mut deletions: Vec<String> = Vec::new();
        for (op, c) in ops {
            if (*op == 0 || *op == 2) && !chains.contains(c) {
                chains.push(c.clone());
            }
            match op {
                1 => rules.push((c.clone(), format!("-A {c} -j R{}", rules.len()))),
                2 => deletions.push(c.clone()),
                _ => {}
            }
        }
        chains.sort_by(|a, b| chain_order(a, b));
        let mut out = format!("*{name}\n");
        for c in &chains {
            out.push_str(&format!(":{c} - [0:0]\n"));
        }
        for c in &chains {
            for (_, l) in rules.iter().filter(|(rc, _)| rc == c) {
                out.push_str(&format!("{l}\n"));
            }
        }
        for (c, l) in &rules {
            if !chains.contains(c) {
                out.push_str(&format!("{l}\n"));
            }
        }
        for d in &deletions {
            out.push_str(&format!("-X {d}\n"));
        }
        out + "COMMIT\n"
    }

    #[test]
    fn indexed_printing_matches_the_naive_printer_on_mixed_operations() {
        let names = [
            "KUBE-SERVICES",
            "KUBE-NODEPORTS",
            "KUBE-SVC-A",
            "KUBE-SEP-B",
            "OTHER",
            "KUBE-SVC-C",
            "UNDECLARED",
        ];
        // A small linear congruential generator: deterministic, no extra dependency.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut ops = Vec::new();
        for _ in 0..500 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let name = names[((state >> 33) % names.len() as u64) as usize];
            let op = match (state >> 20) % 10 {
                0..=2 => 0,
                3 => 2,
                _ => 1,
            };
            // Leave one chain never declared, so the undeclared tail is exercised.
            let op = if name == "UNDECLARED" { 1 } else { op };
            ops.push((op, name.to_string()));
        }
        let mut t = Table::default();
        for (op, c) in &ops {
            match op {
                0 => t.chain(c),
                1 => t.rule(c, &["-j".to_string(), format!("R{}", t.rule_count())]),
                _ => t.delete_chain(c),
            }
        }
        let mut out = String::new();
        t.write("nat", &mut out);
        assert!(out.contains("-A UNDECLARED"));
        assert_eq!(out, naive_write(&ops, "nat"));
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
