@ha @disruptive @fault-partition-node @needs-nodes @needs-scheduler @needs-controllers @slow
Feature: A partitioned node's Pods are replaced, and the node rejoins cleanly
  A node cut off from the network stops heart-beating: the node lifecycle controller marks
  it Ready=Unknown and taints it unreachable, its Pods are evicted once their toleration
  runs out, and the ReplicaSet replaces them on the other nodes. The evicted Pods stay
  Terminating while their kubelet cannot confirm that they stopped; when the partition
  heals, the kubelet finishes them, and the node is Ready again with nothing left behind
  (chapter 11.6).

  Scenario: A partitioned node's Pods are replaced elsewhere, and none is left on it after it heals
    Given the cluster has at least 2 ready nodes
    And the following objects exist:
      """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 2
        selector:
          matchLabels: {app: web}
        template:
          metadata:
            labels: {app: web}
          spec:
            tolerations:
            - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 1}
            - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 1}
            containers:
            - name: web
              image: registry.k8s.io/e2e-test-images/agnhost:2.53
              args: ["netexec", "--http-port=8080"]
      """
    Then eventually 2 Pods labelled "app=web" are Running
    When I partition the node running one of the Pods labelled "app=web"
    Then eventually the Node "{partitioned-node}" has condition "Ready" with status "Unknown"
    And eventually the Node "{partitioned-node}" has the taint "node.kubernetes.io/unreachable:NoExecute"
    And eventually 2 Pods labelled "app=web" are Running on nodes other than "{partitioned-node}"
    When I heal the node "{partitioned-node}"
    Then eventually the Node "{partitioned-node}" has condition "Ready" with status "True"
    And eventually no Pod labelled "app=web" is on the node "{partitioned-node}"
    And eventually exactly 2 Pods labelled "app=web" exist, all Running
