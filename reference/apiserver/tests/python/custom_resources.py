#!/usr/bin/env python3
"""The official Python client with a CustomResourceDefinition: create it, wait until it
is Established, then create, read, list, patch the status of and delete objects of the
new kind through CustomObjectsApi, and delete the CRD. Prints one line per check."""
import sys
import time

from kubernetes import client, config
from kubernetes.client.rest import ApiException

config.load_kube_config(sys.argv[1])
ext = client.ApiextensionsV1Api()
custom = client.CustomObjectsApi()
GROUP, VERSION, PLURAL = "stable.example.com", "v1", "crontabs"

crd = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "crontab", "kind": "CronTab"},
        "versions": [{
            "name": VERSION, "served": True, "storage": True,
            "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {
                    "spec": {"type": "object", "properties": {
                        "cronSpec": {"type": "string"},
                        "replicas": {"type": "integer", "default": 1},
                    }},
                    "status": {"type": "object", "properties": {"lastRun": {"type": "string"}}},
                },
            }},
        }],
    },
}
ext.create_custom_resource_definition(crd)
for _ in range(100):
    got = ext.read_custom_resource_definition(f"{PLURAL}.{GROUP}")
    conds = (got.status.conditions or []) if got.status else []
    if any(c.type == "Established" and c.status == "True" for c in conds):
        break
    time.sleep(0.1)
else:
    sys.exit("the CRD never became Established")
print("established ok")

obj = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "CronTab",
       "metadata": {"name": "nightly"}, "spec": {"cronSpec": "0 3 * * *", "unknown": 1}}
created = custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, obj)
assert created["spec"] == {"cronSpec": "0 3 * * *", "replicas": 1}, created["spec"]
print("defaulted and pruned ok")

custom.patch_namespaced_custom_object_status(
    GROUP, VERSION, "default", PLURAL, "nightly", {"status": {"lastRun": "now"}})
read = custom.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "nightly")
assert read["status"] == {"lastRun": "now"}, read
listed = custom.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
assert [i["metadata"]["name"] for i in listed["items"]] == ["nightly"], listed
print("status and list ok")

try:
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "CronTab",
        "metadata": {"name": "bad"}, "spec": {"replicas": "many"}})
    sys.exit("a string replicas was accepted")
except ApiException as e:
    assert e.status == 422, (e.status, e.body)
print("422 for a wrong type ok")

custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "nightly")
ext.delete_custom_resource_definition(f"{PLURAL}.{GROUP}")
for _ in range(100):
    try:
        ext.read_custom_resource_definition(f"{PLURAL}.{GROUP}")
    except ApiException as e:
        if e.status == 404:
            break
        raise
    time.sleep(0.1)
else:
    sys.exit("the CRD was never deleted")
print("crd deleted ok")
