@controllers @needs-controllers
Feature: The garbage collector deletes dependents with their owner
  Objects point to their owner with ownerReferences. Deleting the owner in the background
  deletes the dependents; Foreground deletes them first; Orphan leaves them, without the
  reference.

  Background:
    Given the following objects exist:
      """
      apiVersion: apps/v1
      kind: ReplicaSet
      metadata: {name: web}
      spec:
        replicas: 2
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

  Scenario: Background deletion removes the owner, then its Pods
    Then eventually there are 2 Pods labelled "app=web"
    When I delete the ReplicaSet "web" with propagation policy Background
    Then eventually the ReplicaSet "web" no longer exists
    And eventually there are 0 Pods labelled "app=web"

  Scenario: Foreground deletion removes the Pods before the owner
    Then eventually there are 2 Pods labelled "app=web"
    When I delete the ReplicaSet "web" with propagation policy Foreground
    Then eventually the ReplicaSet "web" no longer exists
    And eventually there are 0 Pods labelled "app=web"
    And the observed writes happened in this causal order:
      | kind       | name  | milestone   |
      | ReplicaSet | web   | terminating |
      | Pod        | web-* | deleted     |
      | ReplicaSet | web   | deleted     |

  Scenario: Orphan deletion keeps the Pods and removes their owner reference
    Then eventually there are 2 Pods labelled "app=web"
    When I delete the ReplicaSet "web" with propagation policy Orphan
    Then eventually the ReplicaSet "web" no longer exists
    And eventually there are 2 Pods labelled "app=web"
    And every Pod labelled "app=web" eventually has no owner
