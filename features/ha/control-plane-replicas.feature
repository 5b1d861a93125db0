@ha @disruptive
Feature: The control plane survives losing an API server replica or a store member
  Several API servers serve the same store; several store members agree through Raft, so
  a write needs only a majority (chapter 11.1.2, 11.6). Clients, the harness and the
  components alike, reach the API servers through one address, so losing a replica must
  cost them nothing but a reconnect.

  @fault-apiserver-replica
  Scenario: With one API server replica stopped, the API still serves reads and writes
    When I stop API server replica 0
    Then the API server still accepts writes and serves them back
    When I start API server replica 0
    Then the API server still accepts writes and serves them back

  @fault-apiserver-replica @needs-scheduler @needs-nodes
  Scenario: With one API server replica stopped, every component carries on through the others
    Given the cluster has at least 1 ready node
    When I stop API server replica 0
    Then the API server still accepts writes and serves them back
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: after-replica-loss}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then eventually the Pod "after-replica-loss" is scheduled
    And eventually the Pod "after-replica-loss" is Running
    When I start API server replica 0
    Then the API server still accepts writes and serves them back

  @fault-store-member
  Scenario: With one of three store members stopped, writes still reach a majority
    When I stop store member 0
    Then the API server still accepts writes and serves them back
    When I start store member 0
    Then the API server still accepts writes and serves them back
