@performance @serial @event-chains @needs-controllers @needs-scheduler @needs-nodes
Feature: Each hop of the Deployment chain is quick
  The event-chain scenarios record the delay of each hop of the chain they check (the
  time between the harness's watch receiving one milestone and the next) as the phases of
  the "event chain latency" measurement, and a scenario
  may give each hop a budget in the table's fourth column: the most the hop *to* that row
  may take. Upstream's pod startup SLO (5 s from creation to running) bounds the Pod's
  own hops; the controllers' hops get the same 5 s here.

  Background:
    Given the cluster has at least 1 ready node

  Scenario: Each hop from a new Deployment to its running Pod stays within its budget
    When I create:
      """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: hops}
      spec:
        replicas: 1
        selector:
          matchLabels: {app: hops}
        template:
          metadata:
            labels: {app: hops}
          spec:
            containers:
            - name: app
              image: registry.k8s.io/pause:3.10
      """
    Then eventually 1 Pod labelled "app=hops" are Running
    And the observed writes happened in this causal order:
      | kind       | name   | milestone | within |
      | Deployment | hops   | created   |        |
      | ReplicaSet | hops-* | created   | 5s     |
      | Pod        | hops-* | created   | 5s     |
      | Pod        | hops-* | scheduled | 5s     |
      | Pod        | hops-* | running   | 5s     |
