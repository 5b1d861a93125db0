@scheduling @needs-scheduler @disruptive @fake-nodes
Feature: A Pod no node can take says why, in upstream's words
  When every node is filtered out, the scheduler sets the Pod's PodScheduled condition to
  False with reason Unschedulable and a message counting the reasons per node, sorted as
  strings; it records the same message in a FailedScheduling event.

  Background:
    Given fake nodes:
      | name | cpu | memory | labels    |
      | a    | 1   | 2Gi    | zone=east |
      | b    | 1   | 2Gi    | zone=west |
      | c    | 4   | 8Gi    | zone=west |

  Scenario: Too little cpu on one node, a selector mismatch on the others
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: picky}
      spec:
        nodeSelector: {zone: east}
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
          resources:
            requests: {cpu: "2"}
      """
    Then eventually the Pod "picky" is unschedulable with message "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
    And eventually an Event "FailedScheduling" about "picky" starts with "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector."

  Scenario: A successful binding is announced with a Scheduled event
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: easy}
      spec:
        nodeSelector: {zone: east}
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then eventually the Pod "easy" is scheduled to "a"
    And eventually the Pod "easy" has condition "PodScheduled" with status "True"
    And eventually an Event "Scheduled" about "easy" says "Successfully assigned {namespace}/easy to a"
