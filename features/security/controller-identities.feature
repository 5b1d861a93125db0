@security @audit-log @needs-controllers
Feature: Each controller acts as its own service account, with only its own role
  With `--use-service-account-credentials` (how kubeadm runs kube-controller-manager),
  the controller manager gives every controller its own client, authenticated as service
  account `kube-system/<controller>` with tokens from TokenRequest, and the bootstrap
  policy binds role `system:controller:<controller>` to exactly that account. So each
  write a controller makes is audited under the controller's own user name, and a
  controller can do no more than its role allows (least privilege). No scheduler or node
  is needed: Pods are only objects here.

  Scenario: A ReplicaSet's Pods are created by the ReplicaSet controller's service account
    When I create:
      """
      apiVersion: apps/v1
      kind: ReplicaSet
      metadata: {name: web}
      spec:
        replicas: 2
        selector:
          matchLabels: {app: web}
        template:
          metadata:
            labels: {app: web}
          spec:
            containers:
            - name: web
              image: registry.k8s.io/pause:3.10
      """
    Then eventually there are 2 Pods labelled "app=web"
    And eventually the ReplicaSet "web" has "status.replicas" equal to "2"
    And the audit log shows writes of "pods" in the scenario's namespace by "system:serviceaccount:kube-system:replicaset-controller"
    And the audit log shows writes of "replicasets/status" in the scenario's namespace by "system:serviceaccount:kube-system:replicaset-controller"
    When I delete the ReplicaSet "web"
    Then eventually there are 0 Pods labelled "app=web"
    And the audit log shows writes of "pods" in the scenario's namespace by "system:serviceaccount:kube-system:generic-garbage-collector"

  Scenario: A Deployment's ReplicaSet is created by the Deployment controller's service account
    When I create:
      """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: api}
      spec:
        replicas: 1
        selector:
          matchLabels: {app: api}
        template:
          metadata:
            labels: {app: api}
          spec:
            containers:
            - name: api
              image: registry.k8s.io/pause:3.10
      """
    Then eventually there are 1 Pods labelled "app=api"
    And the audit log shows writes of "replicasets" in the scenario's namespace by "system:serviceaccount:kube-system:deployment-controller"
    And the audit log shows writes of "pods" in the scenario's namespace by "system:serviceaccount:kube-system:replicaset-controller"
