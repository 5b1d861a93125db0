@controllers @needs-controllers
Feature: The ReplicaSet controller keeps the number of Pods matching its selector
  It watches ReplicaSets and Pods, counts the active Pods its selector matches, creates or
  deletes Pods to reach spec.replicas, adopts matching orphans and releases Pods that stop
  matching (chapter 11.1.6). No scheduler or node is needed: Pods are only objects here.

  Background:
    Given the following objects exist:
      """
      apiVersion: apps/v1
      kind: ReplicaSet
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
              image: registry.k8s.io/pause:3.10
      """

  Scenario: The controller creates the Pods, each controlled by the ReplicaSet
    Then eventually there are 3 Pods labelled "app=web"
    And eventually the ReplicaSet "web" has "status.replicas" equal to "3"
    And the observed writes happened in this causal order:
      | kind       | name  | milestone |
      | ReplicaSet | web   | created   |
      | Pod        | web-* | created   |

  Scenario: A deleted Pod is replaced as soon as its deletion begins
    Then eventually there are 3 Pods labelled "app=web"
    When I delete one of the Pods labelled "app=web"
    Then eventually the Pod "{deleted-pod}" no longer exists
    And eventually there are 3 Pods labelled "app=web"
    And the observed writes happened in this causal order:
      | kind | name          | milestone   |
      | Pod  | {deleted-pod} | terminating |
      | Pod  | web-*         | created     |

  Scenario: Scaling down deletes Pods, scaling up creates them
    Then eventually there are 3 Pods labelled "app=web"
    When I scale the ReplicaSet "web" to 1 replica
    Then eventually there are 1 Pods labelled "app=web"
    When I scale the ReplicaSet "web" to 4 replicas
    Then eventually there are 4 Pods labelled "app=web"

  Scenario: An orphan Pod matching the selector is adopted instead of creating a new one
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: stray
        labels: {app: web, extra: "yes"}
      spec:
        containers:
        - name: web
          image: registry.k8s.io/pause:3.10
      """
    Then eventually the Pod "stray" is controlled by the ReplicaSet "web"
    And eventually there are 3 Pods labelled "app=web"

  Scenario: A Pod relabelled out of the selector is released and replaced
    Then eventually there are 3 Pods labelled "app=web"
    When I relabel one of the Pods labelled "app=web" with "app=debug" and call it "taken"
    Then eventually the Pod "{taken}" has no controller
    And eventually there are 3 Pods labelled "app=web"
