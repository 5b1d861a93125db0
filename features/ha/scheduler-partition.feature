@ha @disruptive @fault-partition @needs-scheduler @needs-nodes
Feature: A partitioned scheduler leader is replaced without split brain
  Only the holder of the kube-scheduler Lease binds Pods. A leader cut off from the API
  server cannot renew the Lease: it stops scheduling before the Lease runs out, a standby
  acquires it and carries on, and once the partition heals the old leader stays a standby.
  At no time do two schedulers bind (chapter 11.6).

  Scenario: Every binding is made by the scheduler that held the Lease at the time
    Given the cluster has at least 1 ready node
    And I record the holders of the Lease "kube-scheduler" in "kube-system"
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: before-1, labels: {phase: before}}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then eventually the Pod "before-1" is scheduled
    # The leader records who bound the Pod right after binding; cut it off only then.
    And eventually an Event "Scheduled" about "before-1" starts with "Successfully assigned"
    When I partition the current holder of the Lease "kube-scheduler" in "kube-system"
    Then eventually another instance holds the Lease "kube-scheduler" in "kube-system"
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: during-1, labels: {phase: during}}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: during-2, labels: {phase: during}}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then eventually 2 Pods labelled "phase=during" are scheduled
    When I heal the partitioned holder of the Lease "kube-scheduler" in "kube-system"
    And I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: after-1, labels: {phase: after}}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: after-2, labels: {phase: after}}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then eventually 2 Pods labelled "phase=after" are scheduled
    And every Pod was bound by the instance holding the Lease "kube-scheduler" in "kube-system" at the time
