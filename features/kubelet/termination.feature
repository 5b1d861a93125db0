@kubelet @needs-nodes @needs-scheduler
Feature: Deleting a Pod stops its containers gracefully, then removes it
  A deleted Pod first gets a deletionTimestamp; its kubelet stops the containers within
  the grace period, reports it, and only then is the object removed.

  Scenario: A deleted running Pod terminates and disappears
    Given the cluster has at least 1 ready node
    And the following objects exist:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: leaving}
      spec:
        terminationGracePeriodSeconds: 2
        containers:
        - name: web
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080"]
      """
    Then eventually the Pod "leaving" is Running
    When I delete the Pod "leaving"
    Then eventually the Pod "leaving" no longer exists
    And the observed writes happened in this causal order:
      | kind | name    | milestone   |
      | Pod  | leaving | running     |
      | Pod  | leaving | terminating |
      | Pod  | leaving | deleted     |
