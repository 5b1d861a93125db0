@architecture @audit-log
Feature: Components talk to each other only through the API server
  Only the API server talks to the store. The scheduler, the controllers and the kubelets
  never talk to each other or to etcd directly: each watches the API server and writes
  back through it (chapter 11.1.2). The API server's audit log records every such write,
  with the user that made it.

  Scenario: Every write the scenario observed went through the API server
    When I create:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: audited}
      data: {k: v}
      """
    And I set "k" to "w" in the ConfigMap "audited"
    And I delete the ConfigMap "audited"
    Then eventually the ConfigMap "audited" no longer exists
    And every write the scenario observed appears in the API server's audit log

  @needs-scheduler @needs-controllers @needs-nodes
  Scenario: The chain of a Deployment is written by the controllers, the scheduler and the kubelet, each through the API server
    When I create:
      """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 1
        selector:
          matchLabels: {app: web}
        template:
          metadata:
            labels: {app: web}
          spec:
            containers:
            - name: web
              image: registry.k8s.io/e2e-test-images/agnhost:2.53
              args: ["netexec", "--http-port=8080"]
      """
    Then eventually 1 Pod labelled "app=web" are Running
    And the audit log shows writes of "replicasets" in the scenario's namespace by "system:*"
    And the audit log shows writes of "pods" in the scenario's namespace by "system:*"
    And the audit log shows writes of "pods/binding" in the scenario's namespace by "system:*"
    And the audit log shows writes of "pods/status" in the scenario's namespace by "system:node:*"
    And every write the scenario observed appears in the API server's audit log
