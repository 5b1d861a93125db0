@performance @serial @needs-scheduler @needs-nodes
Feature: Pods start within upstream's pod startup SLO
  Upstream's official SLO (sig-scalability, slos/pod_startup_latency.md): the startup
  latency of schedulable stateless Pods, from creation to all their containers started
  and observed via watch, is at most 5 s at the 99th percentile. The harness watches the
  namespace's Pods from before the first create, creates the Pods at a steady rate, and
  splits each Pod's startup into phases: create → scheduled (the watch shows
  spec.nodeName), scheduled → running (the kubelet's containerStatuses startedAt, whole
  seconds on the server's clock) and running → watched (the watch shows phase Running).
  The sizes below scale with `kubeproof run --perf-scale F`.

  Background:
    Given the cluster has at least 1 ready node

  Scenario: Stateless Pods created at a steady rate start within 5 seconds
    When I start 10 Pods at 10 per second and measure their startup latency:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: startup
        labels: {perf: startup}
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then the p99 pod startup latency is at most 5s
    And the p50 pod startup latency is at most 5s
