@kubelet @needs-nodes @needs-scheduler
Feature: The containers of a Pod share one network namespace
  An infrastructure ("pause") container holds the Pod's namespaces; app containers join
  them, so they reach each other on localhost, and a restarted container keeps the Pod's
  IP (chapter 11.3).

  Scenario: Two containers of a Pod reach each other at the Pod's IP
    Given the cluster has at least 1 ready node
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: duo}
      spec:
        containers:
        - name: front
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080", "--udp-port=-1"]
        - name: back
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8081", "--udp-port=-1"]
      """
    Then eventually the Pod "duo" is Ready
    And the Pod "duo" reaches itself on its own IP at port 8081

  @shared-network-namespace
  Scenario: Two containers of a Pod talk over localhost
    Given the cluster has at least 1 ready node
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: duo}
      spec:
        containers:
        - name: front
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080", "--udp-port=-1"]
        - name: back
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8081", "--udp-port=-1"]
      """
    Then eventually the Pod "duo" is Ready
    And the Pod "duo" reaches itself on localhost port 8081
