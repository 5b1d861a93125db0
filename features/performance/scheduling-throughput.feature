@performance @needs-scheduler @disruptive @fake-nodes
Feature: The scheduler binds a batch of Pods at a steady rate
  How many Pods per second the scheduler binds when a batch arrives at once
  (clusterloader2's SchedulingThroughput), from the first create to the last binding the
  harness watched. Upstream sets no SLO for it; the floor below only says the scheduler
  keeps pace with a small batch. The nodes are fake (registered and kept Ready by the
  harness, like kubemark's hollow nodes), so nothing but the scheduler does work and the
  scenario needs a cluster of its own; a cluster with real nodes of its own (kubeconfig)
  skips it.

  Background:
    Given fake nodes:
      | name   | cpu | memory | pods |
      | perf-1 | 64  | 256Gi  | 500  |
      | perf-2 | 64  | 256Gi  | 500  |
      | perf-3 | 64  | 256Gi  | 500  |
      | perf-4 | 64  | 256Gi  | 500  |

  Scenario: A batch of Pods arriving at once is bound at least 10 per second
    When I create 50 Pods at once and measure how fast they are scheduled:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: batch
        labels: {perf: throughput}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
          resources:
            requests: {cpu: 10m, memory: 16Mi}
      """
    Then the scheduling throughput is at least 10 Pods per second
