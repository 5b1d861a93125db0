@event-chains @needs-controllers @needs-scheduler @needs-nodes
Feature: Creating a Deployment sets off a chain of controllers
  The watches are in place before anything happens. The Deployment controller creates a
  ReplicaSet, the ReplicaSet controller creates the Pods, the scheduler binds each Pod to
  a node, and the node's kubelet runs its containers (chapter 11.2, figure 11-12). Each
  link reacts to the previous one's write, so the writes happen in causal order.

  Background:
    Given the cluster has at least 1 ready node

  Scenario: Deployment → ReplicaSet → Pod → scheduled → running, in causal order
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
    And the observed writes happened in this causal order:
      | kind       | name  | milestone |
      | Deployment | web   | created   |
      | ReplicaSet | web-* | created   |
      | Pod        | web-* | created   |
      | Pod        | web-* | scheduled |
      | Pod        | web-* | running   |
    And eventually every Pod labelled "app=web" is controlled by a ReplicaSet of the Deployment "web"
    And the event chain of "Deployment, ReplicaSet, Pod" matches the snapshot "deployment-chain"

  Scenario: Three replicas: each Pod is created by the ReplicaSet, then scheduled, then run
    When I create:
      """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 3
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
    Then eventually 3 Pods labelled "app=web" are Running
    And eventually the Deployment "web" has "status.availableReplicas" equal to "3"
    And the observed writes happened in this causal order:
      | kind       | name  | milestone |
      | Deployment | web   | created   |
      | ReplicaSet | web-* | created   |
      | Pod        | web-* | created   |
      | Pod        | web-* | running   |
