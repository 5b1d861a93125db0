"""The official Python client against refkube-apiserver: list, watch from a
resourceVersion, and 410 Gone for a resourceVersion older than the watch cache.

Usage: watch_and_expire.py KUBECONFIG
Run by tests/python.rs with /usr/bin/python3 (Debian's python3-kubernetes). The server
is started with a small watch cache so a handful of writes pushes an old
resourceVersion out of it. Prints one line per check; exits non-zero on failure.
"""
import sys

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

NS = "default"


def main(kubeconfig):
    config.load_kube_config(config_file=kubeconfig)
    v1 = client.CoreV1Api()

    for i in range(3):
        v1.create_namespaced_config_map(NS, {"metadata": {"name": "py-%d" % i}, "data": {"i": str(i)}})
    listed = v1.list_namespaced_config_map(NS)
    names = sorted(c.metadata.name for c in listed.items)
    assert names == ["py-0", "py-1", "py-2"], names
    rv = listed.metadata.resource_version
    print("list ok at resourceVersion", rv)

    v1.patch_namespaced_config_map("py-1", NS, {"data": {"i": "changed"}})
    seen = []
    w = watch.Watch()
    for ev in w.stream(v1.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=10):
        seen.append((ev["type"], ev["object"].metadata.name))
        if ev["type"] == "MODIFIED" and ev["object"].metadata.name == "py-1":
            assert ev["object"].data["i"] == "changed", ev["object"].data
            w.stop()
    assert seen == [("MODIFIED", "py-1")], seen
    print("watch from resourceVersion ok:", seen)

    # Push the listed resourceVersion out of the (small) watch cache.
    for n in range(12):
        v1.patch_namespaced_config_map("py-2", NS, {"data": {"n": str(n)}})
    try:
        for ev in watch.Watch().stream(v1.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=10):
            raise AssertionError("expected 410, got event %s" % ev["type"])
        raise AssertionError("expected 410, the watch ended without an error")
    except ApiException as e:
        assert e.status == 410, e
        assert "too old resource version" in str(e.reason), e.reason
        print("410 for an expired resourceVersion ok:", e.reason)


if __name__ == "__main__":
    main(sys.argv[1])
