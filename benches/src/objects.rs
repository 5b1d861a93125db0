//! Realistic Kubernetes objects as JSON, shared by the benches: a pod as a ReplicaSet
//! creates it ([`pod`]), a Deployment manifest ([`deployment_manifest`]) and a
//! ConfigMap ([`config_map`]). Sizes match what a small real cluster stores (a pod is
//! about 1.5 KB of JSON), so per-object costs are meaningful.

use serde_json::{Value, json};

/// Pod `web-{i}` in `namespace`: labels, an owner reference, two containers with
/// requests, limits, ports, env and a probe, plus a Running status.
pub fn pod(namespace: &str, i: usize) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": format!("web-{i}"),
            "namespace": namespace,
            "labels": {"app": "web", "tier": "frontend", "pod-template-hash": "7c5ddbdf54"},
            "annotations": {"kubernetes.io/change-cause": "kubectl apply --filename=web.yaml"},
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7c5ddbdf54",
                "uid": "6b1f4a4e-2b7c-4d7e-9a51-5d0c2f1c9a10", "controller": true,
                "blockOwnerDeletion": true
            }],
            "creationTimestamp": "2026-01-01T00:00:00Z"
        },
        "spec": {
            "nodeName": format!("node-{}", i % 10),
            "containers": [
                {
                    "name": "app", "image": "registry.k8s.io/e2e-test-images/agnhost:2.52",
                    "args": ["netexec", "--http-port=8080"],
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                    "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                  "limits": {"cpu": "500m", "memory": "256Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5}
                },
                {
                    "name": "sidecar", "image": "busybox:1.36",
                    "command": ["sh", "-c", "sleep infinity"],
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}
                }
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30
        },
        "status": {
            "phase": "Running",
            "podIP": format!("10.244.{}.{}", (i / 250) % 250, i % 250 + 2),
            "hostIP": format!("192.168.0.{}", i % 10 + 10),
            "startTime": "2026-01-01T00:00:01Z",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:05Z"}],
            "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 0, "image": "registry.k8s.io/e2e-test-images/agnhost:2.52",
                 "imageID": "", "started": true, "state": {"running": {"startedAt": "2026-01-01T00:00:02Z"}}},
                {"name": "sidecar", "ready": true, "restartCount": 1, "image": "busybox:1.36",
                 "imageID": "", "started": true, "state": {"running": {"startedAt": "2026-01-01T00:00:03Z"}}}
            ]
        }
    })
}

/// A ConfigMap `name` in `namespace` with a few small keys.
pub fn config_map(namespace: &str, name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "bench"}},
        "data": {"log-level": "info", "replicas": "3", "greeting": "hello from the benchmark"}
    })
}

/// The JSON body kubectl sends for a typical Deployment manifest (three replicas, a
/// rolling-update strategy, one container with probes, env, volume mounts).
pub fn deployment_manifest() -> Vec<u8> {
    let d = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
                     "annotations": {"kubernetes.io/change-cause": "initial"}},
        "spec": {
            "replicas": 3,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web", "tier": "frontend"}},
                "spec": {
                    "containers": [{
                        "name": "app",
                        "image": "registry.k8s.io/e2e-test-images/agnhost:2.52",
                        "args": ["netexec", "--http-port=8080"],
                        "ports": [{"name": "http", "containerPort": 8080}],
                        "env": [{"name": "MODE", "value": "bench"},
                                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                      "limits": {"memory": "256Mi"}},
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                                          "initialDelaySeconds": 3, "periodSeconds": 10},
                        "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 5},
                        "volumeMounts": [{"name": "config", "mountPath": "/etc/web"}]
                    }],
                    "volumes": [{"name": "config", "configMap": {"name": "web-config"}}],
                    "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                        "weight": 100,
                        "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                            "labelSelector": {"matchLabels": {"app": "web"}}}
                    }]}}
                }
            }
        }
    });
    d.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{ConfigMap, Pod};

    #[test]
    fn the_fixtures_are_valid_typed_objects() {
        let p: Pod = serde_json::from_value(pod("default", 3)).unwrap();
        assert_eq!(p.metadata.name.as_deref(), Some("web-3"));
        assert_eq!(p.spec.unwrap().containers.len(), 2);
        let _: ConfigMap = serde_json::from_value(config_map("default", "c")).unwrap();
        let d: Deployment = serde_json::from_slice(&deployment_manifest()).unwrap();
        assert_eq!(d.spec.unwrap().replicas, Some(3));
    }

    #[test]
    fn a_pod_is_about_the_size_of_a_real_one() {
        let size = pod("default", 1).to_string().len();
        assert!((1200..2500).contains(&size), "pod is {size} bytes");
    }
}
