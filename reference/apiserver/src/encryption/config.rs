//! The `--encryption-provider-config` file: upstream's `EncryptionConfiguration`
//! (`apiserver.config.k8s.io/v1`), decoded strictly and validated with upstream's field
//! errors (`ValidateEncryptionConfiguration`), and resolved per group/resource with
//! upstream's precedence (`secrets` over `*.` over `*.*`).
//!
//! Entry points: [`parse`] and [`Config::providers_for`].

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::EncryptionError;
use super::provider::{KeyKind, Provider};

const API_VERSION: &str = "apiserver.config.k8s.io/v1";
const KIND: &str = "EncryptionConfiguration";

/// AES accepts 16, 24 or 32 byte keys; secretbox only 32.
const AES_KEY_SIZES: &[usize] = &[16, 24, 32];
const SECRETBOX_KEY_SIZES: &[usize] = &[32];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    api_version: String,
    kind: String,
    #[serde(default)]
    resources: Vec<ResourceConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceConfig {
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    providers: Vec<ProviderConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderConfig {
    aescbc: Option<KeysConfig>,
    aesgcm: Option<KeysConfig>,
    secretbox: Option<KeysConfig>,
    identity: Option<Empty>,
    /// Accepted by the format, refused by refkube: it has no KMS plugin client.
    kms: Option<serde_yaml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysConfig {
    #[serde(default)]
    keys: Vec<KeyConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyConfig {
    #[serde(default)]
    name: String,
    #[serde(default)]
    secret: String,
}

/// A group/resource as upstream's `schema.ParseGroupResource` reads it: `secrets`,
/// `deployments.apps`, `*.` (every core resource), `*.apps`, `*.*`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupResource {
    pub group: String,
    pub resource: String,
}

impl GroupResource {
    pub fn parse(s: &str) -> Self {
        match s.split_once('.') {
            Some((resource, group)) => Self {
                group: group.to_string(),
                resource: resource.to_string(),
            },
            None => Self {
                group: String::new(),
                resource: s.to_string(),
            },
        }
    }

    /// How upstream names a rule in its "masked" error.
    fn yaml_name(&self) -> String {
        match (self.group.as_str(), self.resource.as_str()) {
            ("", "*") => "*.".to_string(),
            ("", r) => r.to_string(),
            (g, r) => format!("{r}.{g}"),
        }
    }
}

/// A validated configuration: for each group/resource named, its providers in order.
#[derive(Debug)]
pub struct Config {
    rules: Vec<(GroupResource, Vec<Provider>)>,
}

impl Config {
    /// The providers for one resource (exact name, then `*.group`, then `*.*`), or None
    /// when the configuration does not name it (then it is stored as is).
    pub fn providers_for(&self, group: &str, resource: &str) -> Option<&[Provider]> {
        let find = |g: &str, r: &str| {
            self.rules
                .iter()
                .find(|(gr, _)| gr.group == g && gr.resource == r)
                .map(|(_, p)| p.as_slice())
        };
        find(group, resource)
            .or_else(|| find(group, "*"))
            .or_else(|| find("*", "*"))
    }
}

/// One field error, worded as upstream's `field.Error`.
fn field_error(path: &str, body: String) -> String {
    format!("{path}: {body}")
}

/// Decodes and validates the file's text (YAML or JSON).
pub fn parse(text: &str) -> Result<Config, EncryptionError> {
    if text.trim().is_empty() {
        return Err(EncryptionError::Invalid(
            "encryption provider configuration file is empty".into(),
        ));
    }
    let file: File = serde_yaml::from_str(text)
        .map_err(|e| EncryptionError::Invalid(format!("strict decoding error: {e}")))?;
    if file.api_version != API_VERSION || file.kind != KIND {
        return Err(EncryptionError::Invalid(format!(
            "expected apiVersion {API_VERSION:?} and kind {KIND:?}, got {:?} and {:?}",
            file.api_version, file.kind
        )));
    }
    let errs = validate(&file);
    if !errs.is_empty() {
        return Err(EncryptionError::Invalid(aggregate(&errs)));
    }
    build(file)
}

/// Upstream's aggregate error text: one message alone, several in brackets.
fn aggregate(errs: &[String]) -> String {
    if errs.len() == 1 {
        errs[0].clone()
    } else {
        format!("[{}]", errs.join(", "))
    }
}

/// `ValidateEncryptionConfiguration`, with upstream's paths and messages.
fn validate(file: &File) -> Vec<String> {
    let mut errs = Vec::new();
    if file.resources.is_empty() {
        errs.push(field_error(
            "resources",
            "Required value: at least one resources is required".into(),
        ));
        return errs;
    }
    for (i, conf) in file.resources.iter().enumerate() {
        let r = format!("resources[{i}].resources");
        let p = format!("resources[{i}].providers");
        if conf.resources.is_empty() {
            errs.push(field_error(
                &r,
                format!("Required value: at least one {r} is required"),
            ));
        }
        errs.extend(resource_overlap(&conf.resources, &r));
        errs.extend(resource_names(&conf.resources, &r));
        if conf.providers.is_empty() {
            errs.push(field_error(
                &p,
                format!("Required value: at least one {p} is required"),
            ));
        }
        for (j, provider) in conf.providers.iter().enumerate() {
            let path = format!("{p}[{j}]");
            errs.extend(validate_provider(provider, &path));
        }
    }
    errs
}

fn go_list(resources: &[String]) -> String {
    let quoted: Vec<String> = resources.iter().map(|r| format!("{r:?}")).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// `validateResourceOverlap`: the same resource twice, or a resource and a wildcard
/// that covers it, in one list.
fn resource_overlap(resources: &[String], path: &str) -> Vec<String> {
    if resources.len() < 2 {
        return Vec::new();
    }
    let parsed: Vec<GroupResource> = resources.iter().map(|r| GroupResource::parse(r)).collect();
    let (mut duplicate, mut overlap) = (false, false);
    for (i, a) in parsed.iter().enumerate() {
        for (j, b) in parsed.iter().enumerate() {
            if i == j {
                continue;
            }
            if a == b {
                duplicate = true;
                continue;
            }
            let any = a.group == "*" && a.resource == "*";
            if any || (a.group == b.group && (a.resource == "*" || b.resource == "*")) {
                overlap = true;
            }
        }
    }
    let value = go_list(resources);
    let mut errs = Vec::new();
    if duplicate {
        errs.push(field_error(
            path,
            format!("Invalid value: {value}: the same resource cannot be specified multiple times"),
        ));
    }
    if overlap {
        errs.push(field_error(
            path,
            format!(
                "Invalid value: {value}: using overlapping resources such as 'secrets' and '*.' in the same resource list is not allowed as they will be masked"
            ),
        ));
    }
    errs
}

/// `validateResourceNames`.
fn resource_names(resources: &[String], path: &str) -> Vec<String> {
    let mut errs = Vec::new();
    for (j, res) in resources.iter().enumerate() {
        let gr = GroupResource::parse(res);
        let why = if res.to_lowercase() != *res {
            "resource name should not contain capital letters"
        } else if res == "*" {
            "use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources"
        } else if matches!(
            res.as_str(),
            "apiserveripinfo" | "serviceipallocations" | "servicenodeportallocations"
        ) {
            "resources which do not have REST API/s cannot be encrypted"
        } else if gr.group == "events.k8s.io" {
            "'*.events.k8s.io' objects are stored using the 'events' API group in etcd. Use 'events' instead in the config file"
        } else if gr.group == "extensions" {
            "'extensions' group has been removed and cannot be used for encryption"
        } else if gr.group == "*" && gr.resource != "*" {
            "encrypting the same resource across groups is not supported"
        } else {
            continue;
        };
        errs.push(field_error(
            &format!("{path}[{j}]"),
            format!("Invalid value: {res:?}: {why}"),
        ));
    }
    errs
}

fn validate_provider(p: &ProviderConfig, path: &str) -> Vec<String> {
    let set = [
        ("kms", p.kms.is_some()),
        ("aesgcm", p.aesgcm.is_some()),
        ("aescbc", p.aescbc.is_some()),
        ("secretbox", p.secretbox.is_some()),
        ("identity", p.identity.is_some()),
    ];
    let named: Vec<&str> = set.iter().filter(|s| s.1).map(|s| s.0).collect();
    let found = named.len();
    // Upstream prints the whole provider struct here; only its kinds are shown, so that
    // an error never echoes a key.
    let shown = named.join(", ");
    let invalid = |why: &str| {
        vec![field_error(
            path,
            format!("Invalid value: {shown:?}: {why}"),
        )]
    };
    if found == 0 {
        return invalid(
            "provider does not contain any of the expected providers: KMS, AESGCM, AESCBC, Secretbox, Identity",
        );
    }
    if found > 1 {
        return invalid(
            "more than one provider specified in a single element, should split into different list elements",
        );
    }
    match (&p.aesgcm, &p.aescbc, &p.secretbox) {
        (Some(k), _, _) => validate_keys(&k.keys, &format!("{path}.aesgcm.keys"), AES_KEY_SIZES),
        (_, Some(k), _) => validate_keys(&k.keys, &format!("{path}.aescbc.keys"), AES_KEY_SIZES),
        (_, _, Some(k)) => validate_keys(
            &k.keys,
            &format!("{path}.secretbox.keys"),
            SECRETBOX_KEY_SIZES,
        ),
        _ => Vec::new(),
    }
}

/// `validateKeys` / `validateKey`: a name, and a secret that is base64 of an accepted
/// length (the value itself is never echoed).
fn validate_keys(keys: &[KeyConfig], path: &str, sizes: &[usize]) -> Vec<String> {
    if keys.is_empty() {
        return vec![field_error(
            path,
            "Required value: at least one keys is required".into(),
        )];
    }
    let mut errs = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if key.name.is_empty() {
            errs.push(field_error(
                &format!("{at}.name"),
                "Required value: name is a mandatory field for a key".into(),
            ));
        }
        if key.secret.is_empty() {
            errs.push(field_error(
                &format!("{at}.secret"),
                "Required value: secret is a mandatory field for a key".into(),
            ));
            continue;
        }
        let secret_path = format!("{at}.secret");
        match STANDARD.decode(&key.secret) {
            Err(_) => errs.push(field_error(
                &secret_path,
                "Invalid value: \"REDACTED\": secrets must be base64 encoded".into(),
            )),
            Ok(bytes) if !sizes.contains(&bytes.len()) => {
                let expected: Vec<String> = sizes.iter().map(usize::to_string).collect();
                errs.push(field_error(
                    &secret_path,
                    format!(
                        "Invalid value: \"REDACTED\": secret is not of the expected length, got {}, expected one of [{}]",
                        bytes.len(),
                        expected.join(" ")
                    ),
                ));
            }
            Ok(_) => {}
        }
    }
    errs
}

/// Turns the validated file into providers, refusing what refkube cannot do (KMS) and
/// rules an earlier wildcard masks (upstream's "is masked by earlier rule").
fn build(file: File) -> Result<Config, EncryptionError> {
    let mut rules: Vec<(GroupResource, Vec<Provider>)> = Vec::new();
    for conf in file.resources {
        let mut providers = Vec::new();
        for p in conf.providers {
            providers.push(match p {
                ProviderConfig { kms: Some(_), .. } => {
                    return Err(EncryptionError::Invalid(
                        "kms providers are not supported by refkube (it has no KMS plugin client); use aescbc, aesgcm or secretbox".into(),
                    ));
                }
                ProviderConfig {
                    aescbc: Some(k), ..
                } => Provider::new(KeyKind::AesCbc, named(k)?)?,
                ProviderConfig {
                    aesgcm: Some(k), ..
                } => Provider::new(KeyKind::AesGcm, named(k)?)?,
                ProviderConfig {
                    secretbox: Some(k), ..
                } => Provider::new(KeyKind::Secretbox, named(k)?)?,
                _ => Provider::Identity,
            });
        }
        for res in &conf.resources {
            let gr = GroupResource::parse(res);
            for mask in [
                GroupResource {
                    group: gr.group.clone(),
                    resource: "*".into(),
                },
                GroupResource {
                    group: "*".into(),
                    resource: "*".into(),
                },
            ] {
                if mask != gr && rules.iter().any(|(g, _)| *g == mask) {
                    return Err(EncryptionError::Invalid(format!(
                        "resource {:?} is masked by earlier rule {:?}",
                        gr.yaml_name(),
                        mask.yaml_name()
                    )));
                }
            }
            match rules.iter_mut().find(|(g, _)| *g == gr) {
                Some((_, list)) => list.extend(providers.iter().cloned()),
                None => rules.push((gr, providers.clone())),
            }
        }
    }
    Ok(Config { rules })
}

fn named(k: KeysConfig) -> Result<Vec<(String, Vec<u8>)>, EncryptionError> {
    k.keys
        .into_iter()
        .map(|key| {
            STANDARD
                .decode(&key.secret)
                .map(|secret| (key.name.clone(), secret))
                .map_err(|e| {
                    EncryptionError::Invalid(format!(
                        "could not obtain secret for named key {}: {e}",
                        key.name
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY16: &str = "c2VjcmV0IGlzIHNlY3VyZQ==";
    const KEY32: &str = "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=";

    fn err(text: &str) -> String {
        match parse(text) {
            Err(EncryptionError::Invalid(m)) => m,
            other => panic!("expected an invalid configuration, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_file_resolves_exact_names_before_wildcards() {
        let cfg = parse(&format!(
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n\
             - resources: [secrets]\n  providers:\n  - aescbc:\n      keys: [{{name: k1, secret: {KEY16}}}]\n  - identity: {{}}\n\
             - resources: ['*.apps']\n  providers: [{{secretbox: {{keys: [{{name: s, secret: {KEY32}}}]}}}}]\n\
             - resources: ['*.*']\n  providers: [{{identity: {{}}}}]\n"
        ))
        .unwrap();
        let secrets = cfg.providers_for("", "secrets").unwrap();
        assert_eq!(secrets.len(), 2);
        assert!(matches!(secrets[0], Provider::Keyed { .. }));
        assert!(matches!(secrets[1], Provider::Identity));
        assert!(matches!(
            cfg.providers_for("apps", "deployments").unwrap()[0],
            Provider::Keyed { .. }
        ));
        assert!(matches!(
            cfg.providers_for("", "configmaps").unwrap()[0],
            Provider::Identity
        ));
    }

    #[test]
    fn keys_must_be_base64_of_an_accepted_length() {
        let text = format!(
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n\
             - resources: [secrets]\n  providers:\n  - aescbc:\n      keys: [{{name: k1, secret: c2hvcnQ=}}]\n\
             \x20 - secretbox:\n      keys: [{{name: k2, secret: {KEY16}}}, {{name: '', secret: '!!'}}]\n"
        );
        assert_eq!(
            err(&text),
            "[resources[0].providers[0].aescbc.keys[0].secret: Invalid value: \"REDACTED\": secret is not of the expected length, got 5, expected one of [16 24 32], \
             resources[0].providers[1].secretbox.keys[0].secret: Invalid value: \"REDACTED\": secret is not of the expected length, got 16, expected one of [32], \
             resources[0].providers[1].secretbox.keys[1].name: Required value: name is a mandatory field for a key, \
             resources[0].providers[1].secretbox.keys[1].secret: Invalid value: \"REDACTED\": secrets must be base64 encoded]"
        );
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let head = "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n";
        assert_eq!(
            err(head),
            "resources: Required value: at least one resources is required"
        );
        assert!(err("").contains("empty"));
        assert!(
            err("apiVersion: v1\nkind: ConfigMap\n").contains("apiserver.config.k8s.io/v1"),
            "wrong kind"
        );
        assert!(
            err(&format!(
                "{head}resources: [{{resources: [secrets], providers: [{{identity: {{}}, pandas: 1}}]}}]"
            ))
            .contains("unknown field `pandas`")
        );
        assert!(
            err(&format!(
                "{head}resources: [{{resources: [secrets], providers: [{{identity: {{}}, aescbc: {{keys: [{{name: a, secret: {KEY16}}}]}}}}]}}]"
            ))
            .contains("more than one provider specified in a single element")
        );
        assert!(
            err(&format!(
                "{head}resources: [{{resources: [Secrets, '*', events.events.k8s.io], providers: [{{identity: {{}}}}]}}]"
            ))
            .contains("resources[0].resources[0]: Invalid value: \"Secrets\": resource name should not contain capital letters")
        );
        assert!(
            err(&format!(
                "{head}resources: [{{resources: [secrets, '*.'], providers: [{{identity: {{}}}}]}}]"
            ))
            .contains("using overlapping resources")
        );
        assert_eq!(
            err(&format!(
                "{head}resources:\n- {{resources: ['*.'], providers: [{{identity: {{}}}}]}}\n- {{resources: [secrets], providers: [{{identity: {{}}}}]}}\n"
            )),
            "resource \"secrets\" is masked by earlier rule \"*.\""
        );
        assert!(
            err(&format!(
                "{head}resources: [{{resources: [secrets], providers: [{{kms: {{name: x}}}}]}}]"
            ))
            .contains("kms providers are not supported")
        );
    }
}
