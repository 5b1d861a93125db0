@ha @disruptive @fault-stop-component
Feature: One scheduler and one controller manager are active; a standby takes over
  Several instances run, but only the holder of a Lease in kube-system acts. When the
  holder stops renewing, a standby acquires the Lease after it expires and carries on
  (chapter 11.6).

  @needs-scheduler @needs-nodes
  Scenario: The scheduler's leader stops and a standby schedules the next Pod
    Given the cluster has at least 1 ready node
    Then the Lease "kube-scheduler" in "kube-system" is held
    When I stop the current holder of the Lease "kube-scheduler" in "kube-system"
    Then eventually another instance holds the Lease "kube-scheduler" in "kube-system"
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: after-failover}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then eventually the Pod "after-failover" is scheduled

  @needs-controllers
  Scenario: The controller manager's leader stops and a standby keeps ReplicaSets going
    Then the Lease "kube-controller-manager" in "kube-system" is held
    When I stop the current holder of the Lease "kube-controller-manager" in "kube-system"
    Then eventually another instance holds the Lease "kube-controller-manager" in "kube-system"
    When I create:
      """
      apiVersion: apps/v1
      kind: ReplicaSet
      metadata: {name: after-failover}
      spec:
        replicas: 2
        selector:
          matchLabels: {app: after}
        template:
          metadata:
            labels: {app: after}
          spec:
            containers:
            - name: app
              image: registry.k8s.io/pause:3.10
      """
    Then eventually there are 2 Pods labelled "app=after"

  @needs-controllers @needs-nodes
  Scenario: Nothing is created twice while the controller manager's leadership moves
    When I create:
      """
      apiVersion: apps/v1
      kind: ReplicaSet
      metadata: {name: steady}
      spec:
        replicas: 3
        selector:
          matchLabels: {app: steady}
        template:
          metadata:
            labels: {app: steady}
          spec:
            containers:
            - name: app
              image: registry.k8s.io/pause:3.10
      """
    Then eventually 3 Pods labelled "app=steady" are Running
    When I stop the current holder of the Lease "kube-controller-manager" in "kube-system"
    And I scale the ReplicaSet "steady" to 5 replicas
    Then eventually another instance holds the Lease "kube-controller-manager" in "kube-system"
    And eventually 5 Pods labelled "app=steady" are Running
    And the Pods labelled "app=steady" never numbered more than 5
    And exactly 5 Pods labelled "app=steady" were ever created
