@kubelet @streaming @needs-nodes @needs-scheduler
Feature: The kubelet's own server, and ephemeral containers
  The kubelet's server answers `/pods` with what it runs, reached through the API
  server's `nodes/proxy` (`kubectl get --raw /api/v1/nodes/NODE/proxy/pods`); and
  `pods/ephemeralcontainers` takes a debug container (`kubectl debug -it POD --image=busybox --target=C`) under upstream's rules.

  Background:
    Given the cluster has at least 1 ready node
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: ticker}
      spec:
        containers:
        - name: ticker
          image: busybox
          command: ["sh", "-c", "while true; do echo tick; sleep 1; done"]
      """
    Then eventually the Pod "ticker" is Ready

  Scenario: The kubelet lists the Pod it runs, read through nodes/proxy
    Then the kubelet of the Pod "ticker"'s node lists it in its /pods through nodes/proxy

  Scenario: A debug container is added to a running Pod, and one with a port refused
    Then the debug container "debugger" targeting "ticker" can be added to the Pod "ticker"
    And a debug container "bad" with a port is refused for the Pod "ticker" with "spec.ephemeralContainers[1].ports: Forbidden: cannot be set for an Ephemeral Container"
