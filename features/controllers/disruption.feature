@controllers @disruption @needs-controllers @needs-scheduler @needs-nodes
Feature: Disruption budgets hold back evictions
  A PodDisruptionBudget says how many of an application's Pods must stay healthy. The
  disruption controller keeps its status current (expectedPods from the controllers'
  scale, desiredHealthy, currentHealthy, disruptionsAllowed), and the pods/eviction
  subresource, which `kubectl drain` calls for every Pod of a node, refuses with 429
  while the budget allows no disruption, and takes one disruption from it otherwise.

  Background:
    Given the cluster has at least 1 ready node

  Scenario: A budget's status counts the healthy Pods against the controller's scale
    When I create:
      """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 4
        selector:
          matchLabels: {app: web}
        template:
          metadata:
            labels: {app: web}
          spec:
            containers:
            - name: web
              image: busybox:1.36
              command: ["sleep", "3600"]
      ---
      apiVersion: policy/v1
      kind: PodDisruptionBudget
      metadata: {name: web}
      spec:
        maxUnavailable: "25%"
        selector:
          matchLabels: {app: web}
      """
    Then eventually 4 Pods labelled "app=web" are Ready
    And eventually the PodDisruptionBudget "web" has "status.currentHealthy" equal to "4"
    And eventually the PodDisruptionBudget "web" has "status.expectedPods" equal to "4"
    And eventually the PodDisruptionBudget "web" has "status.desiredHealthy" equal to "3"
    And eventually the PodDisruptionBudget "web" has "status.disruptionsAllowed" equal to "1"
    And eventually the PodDisruptionBudget "web" has "status.observedGeneration" equal to "1"
    And eventually the PodDisruptionBudget "web" has condition "DisruptionAllowed" with status "True"

  Scenario: An eviction that would break the budget is refused, and allowed once another replica is ready
    When I create:
      """
      apiVersion: apps/v1
      kind: Deployment
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
              image: busybox:1.36
              command: ["sleep", "3600"]
      ---
      apiVersion: policy/v1
      kind: PodDisruptionBudget
      metadata: {name: web}
      spec:
        minAvailable: 2
        selector:
          matchLabels: {app: web}
      """
    Then eventually 2 Pods labelled "app=web" are Ready
    And eventually the PodDisruptionBudget "web" has "status.currentHealthy" equal to "2"
    And eventually the PodDisruptionBudget "web" has condition "DisruptionAllowed" with status "False"
    When I try to evict one of the Ready Pods labelled "app=web"
    Then the eviction is refused with 429 TooManyRequests: "Cannot evict pod as it would violate the pod's disruption budget."
    And the eviction names the cause "DisruptionBudget: The disruption budget web needs 2 healthy pods and has 2 currently"
    When I scale the Deployment "web" to 3 replicas
    Then eventually the PodDisruptionBudget "web" has "status.disruptionsAllowed" equal to "1"
    When I try to evict one of the Ready Pods labelled "app=web"
    Then the eviction is accepted
    And eventually the Pod "{evicted}" no longer exists
    And eventually 3 Pods labelled "app=web" are Ready
    And eventually the PodDisruptionBudget "web" has "status.currentHealthy" equal to "3"

  Scenario: A disruption that never led to a deletion is taken back, unless the kubelet announced it
    A Pod marked as a disruption target (by an eviction or a preemption that then did not
    delete it) that is still not being deleted once the stale timeout (upstream: 2 min)
    has passed since the mark gets the condition set to False. The kubelet's own mark is
    left alone: the termination it announces may come much later. The marks here are
    dated 10 minutes back, so the timeout has passed on any target.
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: announced}
      spec:
        containers:
        - name: main
          image: busybox:1.36
          command: ["sleep", "3600"]
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: abandoned}
      spec:
        containers:
        - name: main
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then eventually the Pod "announced" is Ready
    And eventually the Pod "abandoned" is Ready
    When I mark the Pod "announced" as a disruption target with reason "TerminationByKubelet" 10 minutes ago
    And I mark the Pod "abandoned" as a disruption target with reason "EvictionByEvictionAPI" 10 minutes ago
    Then eventually the Pod "abandoned" has condition "DisruptionTarget" with status "False"
    And the Pod "announced" still has condition "DisruptionTarget" with status "True"
