//! Malformed input never panics: pseudo-random bodies, selectors and patches thrown at
//! every entry point that takes outside input.

use refkube_helpers::labels::LabelSelector;
use refkube_resources::decode::{FieldValidation, Format, decode};
use refkube_resources::fields::FieldSelector;
use refkube_resources::patch::{PatchKind, apply_patch};
use refkube_resources::registry;

/// A small deterministic generator (no wall-clock or OS randomness in tests).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }
}

const PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\"spec\"",
    "\"metadata\"",
    "\"containers\"",
    "\"name\"",
    "null",
    "1",
    "-1",
    "1e999",
    "\"$patch\"",
    "\"delete\"",
    "\"replace\"",
    "\"$retainKeys\"",
    "\"$setElementOrder/containers\"",
    "true",
    "\"a\"",
    " ",
    "\n",
    "- ",
    "a: ",
    "in",
    "notin",
    "(",
    ")",
    "!",
    "=",
    "==",
    "!=",
    ">",
    "<",
    "\\",
    "é",
];

fn random_text(rng: &mut Lcg) -> String {
    let n = (rng.next() % 40) as usize;
    (0..n).map(|_| rng.pick(PIECES)).collect()
}

#[test]
fn random_inputs_never_panic() {
    let mut rng = Lcg(42);
    let original = serde_json::json!({"metadata": {"name": "x", "labels": {"a": "b"}}, "spec": {"containers": [{"name": "a"}]}});
    for _ in 0..3000 {
        let text = random_text(&mut rng);
        for info in registry::all().iter().take(6) {
            let _ = decode(info, text.as_bytes(), Format::Json, FieldValidation::Strict);
            let _ = decode(info, text.as_bytes(), Format::Yaml, FieldValidation::Warn);
            let _ = FieldSelector::parse(info, &text);
            for kind in [
                PatchKind::Json,
                PatchKind::Merge,
                PatchKind::StrategicMerge,
                PatchKind::Apply,
            ] {
                let _ = apply_patch(info, kind, &original, text.as_bytes());
            }
        }
        let _ = LabelSelector::parse(&text);
    }
}

#[test]
fn deeply_nested_bodies_are_errors_not_stack_overflows() {
    let deep = "[".repeat(100_000);
    let pods = registry::lookup("", "v1", "pods").expect("pods are registered");
    assert!(decode(pods, deep.as_bytes(), Format::Json, FieldValidation::Strict).is_err());
    let deep_yaml = "- ".repeat(10_000) + "a";
    assert!(
        decode(
            pods,
            deep_yaml.as_bytes(),
            Format::Yaml,
            FieldValidation::Strict
        )
        .is_err()
    );
}
