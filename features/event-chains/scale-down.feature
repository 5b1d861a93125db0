@event-chains @needs-controllers @needs-scheduler @needs-nodes
Feature: Scaling down travels the chain in the other direction
  Scaling a Deployment down changes its ReplicaSet's replicas; the ReplicaSet controller
  deletes Pods (unscheduled and not-ready ones first); each kubelet stops the containers
  and the Pod objects go away.

  Background:
    Given the cluster has at least 1 ready node

  Scenario: Deployment scaled from 3 to 1: the ReplicaSet follows, then two Pods terminate and go
    Given the following objects exist:
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
            terminationGracePeriodSeconds: 1
            containers:
            - name: web
              image: registry.k8s.io/e2e-test-images/agnhost:2.53
              args: ["netexec", "--http-port=8080"]
      """
    Then eventually 3 Pods labelled "app=web" are Running
    When I scale the Deployment "web" to 1 replica
    Then eventually there are 1 Pods labelled "app=web"
    And the observed writes happened in this causal order:
      | kind  | name  | milestone   |
      | Pod   | web-* | running     |
      | Pod   | web-* | terminating |
      | Pod   | web-* | deleted     |
    And eventually the Deployment "web" has "status.replicas" equal to "1"
