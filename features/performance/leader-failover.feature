@performance @disruptive @fault-stop-component
Feature: A standby leader takes over, and acts, soon after the leader stops
  Leader failover time: from stopping the holder of a component's Lease to another
  instance holding it, and to that instance's first useful action. Upstream sets no SLO;
  its leader election (15 s leases, retried every 2 s) lets a Lease stay unheld for up to
  17 s after its holder dies, and upstream's pod startup SLO gives the work 5 s more. The
  run's own component timings count: the embedded reference runs 2 s leases.

  @needs-scheduler @needs-nodes
  Scenario: The scheduler's leader stops; a standby takes the Lease and schedules the next Pod
    Given the cluster has at least 1 ready node
    Then the Lease "kube-scheduler" in "kube-system" is held
    When I stop the holder of the Lease "kube-scheduler" in "kube-system" and measure the failover to the scheduling of this Pod:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: after-failover}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then the Lease failover time is at most 17s
    And the leader failover time is at most 22s

  @needs-controllers
  Scenario: The controller manager's leader stops; a standby takes the Lease and creates the next Pod
    Then the Lease "kube-controller-manager" in "kube-system" is held
    When I stop the holder of the Lease "kube-controller-manager" in "kube-system" and measure the failover to the first Pod of this ReplicaSet:
      """
      apiVersion: apps/v1
      kind: ReplicaSet
      metadata: {name: after-failover}
      spec:
        replicas: 1
        selector:
          matchLabels: {app: after-failover}
        template:
          metadata:
            labels: {app: after-failover}
          spec:
            containers:
            - name: app
              image: registry.k8s.io/pause:3.10
      """
    Then the Lease failover time is at most 17s
    And the leader failover time is at most 22s
