//! The `paths` of a group-version document: per resource the collection, item, and
//! subresource operations, with upstream's operation ids, parameters (notably
//! `fieldValidation`) and `x-kubernetes-group-version-kind`.

use crate::registry::ResourceInfo;
use serde_json::{Map, Value, json};

const FIELD_VALIDATION_DOC: &str = "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.";

fn query(name: &str, ty: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": ty, "uniqueItems": true}})
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "description": description, "required": true, "schema": {"type": "string", "uniqueItems": true}})
}

fn write_params(patch: bool) -> Vec<Value> {
    let mut p = vec![
        query(
            "dryRun",
            "string",
            "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed",
        ),
        query(
            "fieldManager",
            "string",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ),
        query("fieldValidation", "string", FIELD_VALIDATION_DOC),
    ];
    if patch {
        p.push(query("force", "boolean", "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests."));
    }
    p
}

fn list_params() -> Vec<Value> {
    [
        ("allowWatchBookmarks", "boolean"),
        ("continue", "string"),
        ("fieldSelector", "string"),
        ("labelSelector", "string"),
        ("limit", "integer"),
        ("resourceVersion", "string"),
        ("resourceVersionMatch", "string"),
        ("sendInitialEvents", "boolean"),
        ("timeoutSeconds", "integer"),
        ("watch", "boolean"),
    ]
    .iter()
    .map(|(n, t)| {
        query(
            n,
            t,
            &format!("{n} as documented for list and watch calls."),
        )
    })
    .collect()
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn content(name: &str) -> Value {
    json!({"application/json": {"schema": schema_ref(name)}, "application/yaml": {"schema": schema_ref(name)}})
}

fn responses(codes: &[&str], name: &str) -> Value {
    let mut r = Map::new();
    for code in codes {
        let description = match *code {
            "201" => "Created",
            "202" => "Accepted",
            _ => "OK",
        };
        r.insert(
            (*code).to_string(),
            json!({"description": description, "content": content(name)}),
        );
    }
    r.insert("401".into(), json!({"description": "Unauthorized"}));
    Value::Object(r)
}

/// `CoreV1`, `AppsV1`, `CoordinationV1`...: the operation id infix upstream uses.
fn op_group(r: &ResourceInfo) -> String {
    let group = if r.group.is_empty() {
        "core"
    } else {
        r.group.split('.').next().unwrap_or(r.group)
    };
    let mut g: Vec<char> = group.chars().collect();
    if let Some(c) = g.first_mut() {
        *c = c.to_ascii_uppercase();
    }
    let mut v: Vec<char> = r.version.chars().collect();
    if let Some(c) = v.first_mut() {
        *c = c.to_ascii_uppercase();
    }
    format!(
        "{}{}",
        g.into_iter().collect::<String>(),
        v.into_iter().collect::<String>()
    )
}

fn tag(r: &ResourceInfo) -> String {
    let group = if r.group.is_empty() {
        "core"
    } else {
        r.group.split('.').next().unwrap_or(r.group)
    };
    format!("{group}_{}", r.version)
}

struct Op<'a> {
    r: &'a ResourceInfo,
    action: &'a str,
    id: String,
    gvk: Value,
    params: Vec<Value>,
    body: Option<Value>,
    responses: Value,
}

impl Op<'_> {
    fn build(self) -> Value {
        let mut op = json!({
            "tags": [tag(self.r)],
            "operationId": self.id,
            "responses": self.responses,
            "x-kubernetes-action": self.action,
            "x-kubernetes-group-version-kind": self.gvk,
        });
        if !self.params.is_empty() {
            op["parameters"] = Value::Array(self.params);
        }
        if let Some(body) = self.body {
            op["requestBody"] = json!({"content": body, "required": true});
        }
        op
    }
}

fn patch_body() -> Value {
    let patch = schema_ref("io.k8s.apimachinery.pkg.apis.meta.v1.Patch");
    json!({
        "application/apply-patch+yaml": {"schema": patch},
        "application/json-patch+json": {"schema": patch},
        "application/merge-patch+json": {"schema": patch},
        "application/strategic-merge-patch+json": {"schema": patch},
    })
}

/// Adds the operations of `r` (whose object schema is `name`) to `paths`.
pub fn add(paths: &mut Map<String, Value>, r: &ResourceInfo, name: &str) {
    let prefix = format!("/{}", super::gv_path(r.group, r.version));
    let ns = if r.namespaced { "Namespaced" } else { "" };
    let kind = r.kind;
    let grp = op_group(r);
    let gvk = super::gvk(r.group, r.version, kind);
    let can = |verb: &str| r.verbs.contains(&verb);
    let collection = if r.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", r.plural)
    } else {
        format!("{prefix}/{}", r.plural)
    };
    let scope_params = |with_name: bool| {
        let mut p = Vec::new();
        if with_name {
            p.push(path_param("name", &format!("name of the {kind}")));
        }
        if r.namespaced {
            p.push(path_param(
                "namespace",
                "object name and auth scope, such as for teams and projects",
            ));
        }
        p.push(query(
            "pretty",
            "string",
            "If 'true', then the output is pretty printed.",
        ));
        p
    };
    let op = |action: &'static str,
              id: String,
              params: Vec<Value>,
              body: Option<Value>,
              responses: Value| {
        Op {
            r,
            action,
            id,
            gvk: gvk.clone(),
            params,
            body,
            responses,
        }
        .build()
    };

    let mut coll = Map::new();
    if can("list") {
        coll.insert(
            "get".into(),
            op(
                "list",
                format!("list{grp}{ns}{kind}"),
                list_params(),
                None,
                responses(&["200"], &format!("{name}List")),
            ),
        );
    }
    if can("create") {
        coll.insert(
            "post".into(),
            op(
                "post",
                format!("create{grp}{ns}{kind}"),
                write_params(false),
                Some(content(name)),
                responses(&["200", "201", "202"], name),
            ),
        );
    }
    if can("deletecollection") {
        let body = Some(content(
            "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
        ));
        coll.insert(
            "delete".into(),
            op(
                "deletecollection",
                format!("delete{grp}Collection{ns}{kind}"),
                list_params(),
                body,
                responses(&["200"], "io.k8s.apimachinery.pkg.apis.meta.v1.Status"),
            ),
        );
    }
    if !coll.is_empty() {
        coll.insert("parameters".into(), Value::Array(scope_params(false)));
        paths.insert(collection.clone(), Value::Object(coll));
    }

    let mut item = Map::new();
    if can("get") {
        item.insert(
            "get".into(),
            op(
                "get",
                format!("read{grp}{ns}{kind}"),
                Vec::new(),
                None,
                responses(&["200"], name),
            ),
        );
    }
    if can("update") {
        item.insert(
            "put".into(),
            op(
                "put",
                format!("replace{grp}{ns}{kind}"),
                write_params(false),
                Some(content(name)),
                responses(&["200", "201"], name),
            ),
        );
    }
    if can("patch") {
        item.insert(
            "patch".into(),
            op(
                "patch",
                format!("patch{grp}{ns}{kind}"),
                write_params(true),
                Some(patch_body()),
                responses(&["200", "201"], name),
            ),
        );
    }
    if can("delete") {
        let body = Some(content(
            "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
        ));
        item.insert(
            "delete".into(),
            op(
                "delete",
                format!("delete{grp}{ns}{kind}"),
                Vec::new(),
                body,
                responses(&["200", "202"], name),
            ),
        );
    }
    if !item.is_empty() {
        item.insert("parameters".into(), Value::Array(scope_params(true)));
        paths.insert(format!("{collection}/{{name}}"), Value::Object(item));
    }

    if r.namespaced && can("list") {
        let mut all = Map::new();
        all.insert(
            "get".into(),
            op(
                "list",
                format!("list{grp}{kind}ForAllNamespaces"),
                list_params(),
                None,
                responses(&["200"], &format!("{name}List")),
            ),
        );
        paths.insert(format!("{prefix}/{}", r.plural), Value::Object(all));
    }

    for sub in ["status", "scale"]
        .into_iter()
        .filter(|s| r.has_subresource(s))
    {
        let (suffix, schema, sub_gvk) = if sub == "status" {
            ("Status", name.to_string(), gvk.clone())
        } else {
            (
                "Scale",
                "io.k8s.api.autoscaling.v1.Scale".to_string(),
                super::gvk("autoscaling", "v1", "Scale"),
            )
        };
        let sub_op = |action: &'static str,
                      id: String,
                      params: Vec<Value>,
                      body: Option<Value>,
                      codes: &[&str]| {
            Op {
                r,
                action,
                id,
                gvk: sub_gvk.clone(),
                params,
                body,
                responses: responses(codes, &schema),
            }
            .build()
        };
        let mut m = Map::new();
        m.insert(
            "get".into(),
            sub_op(
                "get",
                format!("read{grp}{ns}{kind}{suffix}"),
                Vec::new(),
                None,
                &["200"],
            ),
        );
        m.insert(
            "put".into(),
            sub_op(
                "put",
                format!("replace{grp}{ns}{kind}{suffix}"),
                write_params(false),
                Some(content(&schema)),
                &["200", "201"],
            ),
        );
        m.insert(
            "patch".into(),
            sub_op(
                "patch",
                format!("patch{grp}{ns}{kind}{suffix}"),
                write_params(true),
                Some(patch_body()),
                &["200", "201"],
            ),
        );
        m.insert("parameters".into(), Value::Array(scope_params(true)));
        paths.insert(format!("{collection}/{{name}}/{sub}"), Value::Object(m));
    }
}
