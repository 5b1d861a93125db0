@kubelet @needs-nodes @static-pods
Feature: The kubelet runs static Pods from manifest files, mirrored in the API
  A static Pod comes from a file on the node, not from the API server. The kubelet runs it
  and creates a mirror Pod named <pod>-<node>, controlled by the Node, so it can be seen
  through the API; deleting the mirror does not stop the Pod, and it is recreated.

  Scenario: A manifest on a node becomes a running mirror Pod
    Given the cluster has at least 1 ready node
    When I place the static pod manifest "static-web.yaml" on the node "{node-1}":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: static-web
        namespace: "{namespace}"
      spec:
        containers:
        - name: web
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080"]
      """
    Then eventually the mirror Pod "static-web-{node-1}" exists, controlled by the Node "{node-1}"
    When I delete the Pod "static-web-{node-1}"
    Then eventually the mirror Pod "static-web-{node-1}" exists, controlled by the Node "{node-1}"
    When I remove the static pod manifest "static-web.yaml" from the node "{node-1}"
    Then eventually the Pod "static-web-{node-1}" no longer exists
