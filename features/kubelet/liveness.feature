@kubelet @needs-nodes @needs-scheduler
Feature: Failing liveness probes restart containers, with growing back-off
  The kubelet runs liveness probes; after failureThreshold consecutive failures it kills
  the container and restarts it per restartPolicy. A container that keeps crashing is
  restarted with exponential back-off (CrashLoopBackOff).

  Background:
    Given the cluster has at least 1 ready node

  Scenario: A container failing its liveness probe is restarted
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: sick}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["liveness"]
          livenessProbe:
            httpGet: {path: /healthz, port: 8080}
            periodSeconds: 1
            failureThreshold: 1
      """
    Then eventually the container "app" of the Pod "sick" has restarted at least 1 time
    And the container "app" of the Pod "sick" recorded its last termination
    And eventually an Event "Unhealthy" about "sick" starts with "Liveness probe failed"
    And the Pod "sick" kept the same IP across container restarts

  Scenario: A container that keeps crashing waits in CrashLoopBackOff
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: crasher}
      spec:
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "exit 1"]
      """
    Then eventually the container "app" of the Pod "crasher" has restarted at least 2 times
    And eventually the container "app" of the Pod "crasher" is waiting with reason "CrashLoopBackOff" and a message matching "^back-off \S+ restarting failed container=app pod=crasher_{namespace}\(.+\)$"
    And eventually an Event "BackOff" about "crasher" starts with "Back-off restarting failed container app in pod crasher_{namespace}"
