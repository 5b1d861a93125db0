#!/usr/bin/env python3
"""Generates src/protobuf/schema.txt: the protobuf field table of the Kubernetes types
the reference serves, so request bodies kubectl sends as
application/vnd.kubernetes.protobuf can be turned into JSON.

Field numbers and types come from the prost code of the k8s-pb crate (generated from
upstream's generated.proto); JSON field names from k8s-openapi's deserializers (the
protobuf names are the JSON names, but prost's snake_case loses their capitals).

Usage: gen_proto_schema.py K8S_PB_SRC K8S_OPENAPI_SRC/v1_33 > src/protobuf/schema.txt
"""
import os
import re
import sys

PACKAGES = [
    "api/core/v1", "api/apps/v1", "api/batch/v1", "api/coordination/v1",
    "api/discovery/v1", "api/events/v1", "api/policy/v1", "api/autoscaling/v1",
    "api/authorization/v1", "api/authentication/v1", "api/rbac/v1",
    "apimachinery/pkg/apis/meta/v1", "apimachinery/pkg/util/intstr",
    "apimachinery/pkg/api/resource", "apimachinery/pkg/runtime",
]

# Wire-only types (handled specially by the decoder) with no k8s-openapi struct.
NO_JSON_TWIN = {"Time", "MicroTime", "Duration", "IntOrString", "Quantity", "QuantityValue",
                "RawExtension", "Unknown", "TypeMeta", "FieldsV1", "Timestamp", "Verbs",
                "VersionKind", "GroupVersionForDiscovery", "ServerAddressByClientCIDR"}

INLINE = {(s, "local_object_reference") for s in (
    "ConfigMapEnvSource", "ConfigMapKeySelector", "ConfigMapProjection", "ConfigMapVolumeSource",
    "SecretEnvSource", "SecretKeySelector", "SecretProjection")} | {
    ("Probe", "handler"), ("Volume", "volume_source"),
    ("PersistentVolumeSpec", "persistent_volume_source"),
    ("EphemeralContainer", "ephemeral_container_common")}

ATTR = re.compile(r'#\[prost\((?P<kind>[a-z0-9_]+)(?: = "(?P<arg>[^"]*)")?, (?:(?P<card>optional|repeated), )?tag = "(?P<tag>\d+)"')
FIELD = re.compile(r'pub (?:r#)?(?P<name>\w+):\s*(?P<ty>.*)')


def json_names(openapi_root, pkg):
    """{(Struct): {normalized: jsonName}} from k8s-openapi deserializers."""
    out = {}
    d = os.path.join(openapi_root, pkg)
    if not os.path.isdir(d):
        return out
    for f in os.listdir(d):
        if not f.endswith(".rs"):
            continue
        text = open(os.path.join(d, f)).read()
        for m in re.finditer(r"impl<'de> crate::serde::Deserialize<'de> for (\w+) \{", text):
            struct = m.group(1).lower()
            names = out.setdefault(struct, {})
            for j, _ in re.findall(r'"(\w+)" => Field::Key_(\w+),', text[m.end():m.end() + 20000]):
                names.setdefault(j.lower(), j)
    return out


def resolve(pkg, ty):
    """Fully qualifies a prost Rust type path relative to module `pkg`."""
    ty = ty.strip().rstrip(",")
    inner = re.sub(r"^::core::option::Option<|^::prost::alloc::vec::Vec<|>$", "", ty)
    inner = re.sub(r"^::prost::alloc::collections::BTreeMap<::prost::alloc::string::String,\s*", "", inner)
    inner = inner.rstrip(">").strip()
    parts = inner.split("::")
    base = pkg.split("/")
    while parts and parts[0] == "super":
        parts.pop(0)
        base = base[:-1]
    if len(parts) == 1:
        return ".".join(pkg.split("/") + parts)
    return ".".join(base + parts)


def main(pb_root, openapi_root):
    for pkg in PACKAGES:
        src = open(os.path.join(pb_root, pkg, "mod.rs")).read().splitlines()
        names = json_names(openapi_root, pkg)
        struct, attr, i = None, None, 0
        while i < len(src):
            line = src[i].strip()
            m = re.match(r"pub struct (\w+) \{", line)
            if m:
                struct = m.group(1)
                print("M %s.%s" % (pkg.replace("/", "."), struct))
            elif line == "}":
                struct = None
            elif struct and line.startswith("#[prost("):
                attr = ATTR.match(line)
            elif struct and attr and line.startswith("pub "):
                decl = line
                while not decl.endswith(","):
                    i += 1
                    decl += src[i].strip()
                f = FIELD.match(decl)
                name = f.group("name")
                norm = name.replace("_", "").lower()
                known = names.get(struct.lower())
                json = (known or {}).get(norm)
                # Go structs embedded with `json:",inline"` (the rest are fields newer than
                # the k8s-openapi version and keep their camelCase name).
                inline = json is None and (struct, name) in INLINE
                if json is None:
                    head, *rest = name.split("_")
                    json = head + "".join(p[:1].upper() + p[1:] for p in rest)
                kind, arg, card, tag = attr.group("kind"), attr.group("arg"), attr.group("card"), attr.group("tag")
                if kind == "btree_map":
                    card = "map"
                    value = arg.split(", ")[1]
                    ty = resolve(pkg, f.group("ty")) if value == "message" else value
                else:
                    card = "rep" if card == "repeated" else ("inline" if inline else "one")
                    ty = resolve(pkg, f.group("ty")) if kind == "message" else kind
                if known is None and struct not in NO_JSON_TWIN:
                    sys.stderr.write("no k8s-openapi twin for %s.%s\n" % (pkg, struct))
                print("F %s %s %s %s" % (tag, json, card, ty))
                attr = None
            i += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
