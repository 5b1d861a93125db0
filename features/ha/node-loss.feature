@ha @disruptive @fault-lose-node @needs-nodes @needs-scheduler @needs-controllers @slow
Feature: Pods of a lost node are replaced elsewhere
  Run apps as Deployments with several replicas: when a node is lost, the node lifecycle
  controller marks it unreachable, its Pods are evicted after their toleration, and the
  ReplicaSet creates replacements on the remaining nodes (chapter 11.6).

  Scenario: A lost node's Pods are recreated on the other nodes
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
    When I lose the node "{node-1}"
    Then eventually the Node "{node-1}" has condition "Ready" with status "Unknown"
    And eventually the Node "{node-1}" has the taint "node.kubernetes.io/unreachable:NoExecute"
    And eventually 2 Pods labelled "app=web" are Running
