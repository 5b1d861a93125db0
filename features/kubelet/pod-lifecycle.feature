@kubelet @needs-nodes @needs-scheduler
Feature: The kubelet runs a Pod's containers and reports their life
  The kubelet watches for Pods bound to its node, starts their containers through the
  container runtime and reports the Pod's phase, conditions and container states.

  Background:
    Given the cluster has at least 1 ready node

  Scenario: A Pod that runs to completion goes Pending → Running → Succeeded
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: once}
      spec:
        restartPolicy: Never
        containers:
        - name: work
          image: busybox:1.36
          command: ["sh", "-c", "sleep 1; echo done"]
      """
    Then eventually the Pod "once" is Succeeded
    And the Pod "once" went through the phases "Pending, Running, Succeeded"
    And the Pod "once" has "status.containerStatuses.0.state.terminated.exitCode" equal to "0"
    And the Pod "once" has "status.containerStatuses.0.state.terminated.reason" equal to "Completed"

  Scenario: A failing container with restartPolicy Never fails the Pod
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: broken}
      spec:
        restartPolicy: Never
        containers:
        - name: work
          image: busybox:1.36
          command: ["sh", "-c", "exit 3"]
      """
    Then eventually the Pod "broken" is Failed
    And the Pod "broken" has "status.containerStatuses.0.state.terminated.exitCode" equal to "3"
    And the Pod "broken" has "status.containerStatuses.0.state.terminated.reason" equal to "Error"

  Scenario: A running Pod is Ready with an IP and its conditions
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: server}
      spec:
        containers:
        - name: web
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080"]
      """
    Then eventually the Pod "server" is Ready
    And eventually the Pod "server" has condition "Initialized" with status "True"
    And eventually the Pod "server" has condition "ContainersReady" with status "True"
    And eventually the Pod "server" has condition "PodScheduled" with status "True"
    And the Pod "server" has "status.containerStatuses.0.ready" equal to "true"
