@networking @needs-nodes @needs-scheduler @disruptive
Feature: Every Pod reaches every other Pod by its IP, across nodes, without NAT
  Pod networking is set up by a network plugin, not by Kubernetes itself; the contract is
  that any Pod reaches any other Pod at its IP (chapter 11.4). Traffic is sent from inside
  a client Pod running agnhost netexec, whose /dial endpoint reports who answered.

  Scenario: Pods on two different nodes reach each other
    Given the cluster has at least 2 ready nodes
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: left}
      spec:
        nodeName: "{node-1}"
        containers:
        - name: web
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080"]
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: right}
      spec:
        nodeName: "{node-2}"
        containers:
        - name: web
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080"]
      """
    Then eventually the Pod "left" is Ready
    And eventually the Pod "right" is Ready
    And the Pods "left" and "right" run on different nodes
    And the Pod "left" reaches the Pod "right" on port 8080
    And the Pod "right" reaches the Pod "left" on port 8080
    And the Pod "right" sees requests from the Pod "left" come from its own IP
    And the Pod "left" sees requests from the Pod "right" come from its own IP
