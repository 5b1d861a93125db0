@scheduling @needs-scheduler @disruptive @fake-nodes
Feature: Among acceptable nodes the scheduler prefers the emptier one
  After filtering, nodes are scored; with the default plugins a node with more free
  resources scores higher (NodeResourcesFit LeastAllocated, BalancedAllocation), so an
  empty node is preferred to one already running Pods (chapter 11.1.5).

  Background:
    Given fake nodes:
      | name  | cpu | memory |
      | busy  | 4   | 8Gi    |
      | empty | 4   | 8Gi    |

  Scenario: A new Pod goes to the node without Pods
    Given the following objects exist:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: resident}
      spec:
        nodeName: busy
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
          resources:
            requests: {cpu: "2", memory: 4Gi}
      """
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: newcomer}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
          resources:
            requests: {cpu: 500m, memory: 1Gi}
      """
    Then eventually the Pod "newcomer" is scheduled to "empty"
