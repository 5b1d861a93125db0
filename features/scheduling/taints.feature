@scheduling @needs-scheduler @disruptive @fake-nodes
Feature: A node's NoSchedule taint keeps off every Pod that does not tolerate it
  TaintToleration filters out a node whose NoSchedule or NoExecute taint the Pod does
  not tolerate; with no other node, the Pod stays unscheduled and says which taint
  (chapter 11.1.5).

  Background:
    Given fake nodes:
      | name    | cpu | memory | taints                  |
      | tainted | 4   | 8Gi    | dedicated=db:NoSchedule |

  Scenario: The only node is tainted: a tolerant Pod lands, an intolerant one waits
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: db}
      spec:
        tolerations:
        - {key: dedicated, operator: Equal, value: db, effect: NoSchedule}
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: intolerant}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then eventually the Pod "db" is scheduled to "tainted"
    And eventually the Pod "intolerant" is unschedulable with message "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: db}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
