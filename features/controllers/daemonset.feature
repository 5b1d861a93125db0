@controllers @needs-controllers @needs-nodes
Feature: The DaemonSet controller runs one Pod on every node
  A DaemonSet's Pods are placed per node by the controller itself (with node affinity to
  that node), one on each eligible node.

  Scenario: One Pod per ready node
    Given the cluster has at least 1 ready node
    When I create:
      """
      apiVersion: apps/v1
      kind: DaemonSet
      metadata: {name: agent}
      spec:
        selector:
          matchLabels: {app: agent}
        template:
          metadata:
            labels: {app: agent}
          spec:
            containers:
            - name: agent
              image: registry.k8s.io/pause:3.10
      """
    Then eventually the DaemonSet "agent" runs exactly one Pod on each ready node
