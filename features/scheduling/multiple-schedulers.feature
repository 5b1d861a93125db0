@scheduling @needs-scheduler @disruptive @fake-nodes
Feature: Several schedulers can run; a Pod picks one by spec.schedulerName
  Each scheduler only handles the Pods that name it; the default scheduler's name is
  default-scheduler (chapter 11.1.5).

  Background:
    Given fake nodes:
      | name | cpu | memory |
      | n1   | 4   | 8Gi    |

  Scenario: A Pod naming another scheduler is left alone by the default one
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: for-someone-else}
      spec:
        schedulerName: my-scheduler
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: for-default}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then eventually the Pod "for-default" is scheduled to "n1"
    And the Pod "for-someone-else" is not scheduled by anyone
