@controllers @needs-controllers @needs-nodes @disruptive
Feature: The node lifecycle controller notices nodes that stop reporting
  A node whose kubelet stops posting status and renewing its Lease is marked Unknown after
  the grace period, tainted unreachable, and its Pods are evicted once their toleration
  runs out (chapter 11.1.6). Healthy nodes are needed beside it: when every node of every
  zone is unhealthy, upstream assumes a network problem and stops adding NoExecute taints.

  Background:
    Given the cluster has at least 1 ready node

  @slow
  Scenario: A node that never posts status becomes Unknown and is tainted unreachable
    When I create:
      """
      apiVersion: v1
      kind: Node
      metadata:
        name: ghost-{namespace}
      """
    Then eventually the Node "ghost-{namespace}" has condition "Ready" with status "Unknown"
    And eventually the Node "ghost-{namespace}" has the taint "node.kubernetes.io/unreachable:NoSchedule"
    And eventually the Node "ghost-{namespace}" has the taint "node.kubernetes.io/unreachable:NoExecute"

  @slow
  Scenario: A node whose heartbeats stop becomes Unknown
    Given fake nodes:
      | name               |
      | fading-{namespace} |
    When I stop the heartbeats of the fake node "fading-{namespace}"
    Then eventually the Node "fading-{namespace}" has condition "Ready" with status "Unknown"
    And eventually the Node "fading-{namespace}" has the taint "node.kubernetes.io/unreachable:NoExecute"
