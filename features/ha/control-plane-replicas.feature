@ha @disruptive
Feature: The control plane survives losing an API server replica or a store member
  Several API servers serve the same store; several store members agree through Raft, so
  a write needs only a majority (chapter 11.1.2, 11.6).

  @fault-apiserver-replica
  Scenario: With one API server replica stopped, the API still serves reads and writes
    When I stop API server replica 0
    Then the API server still accepts writes and serves them back

  @fault-store-member
  Scenario: With one of three store members stopped, writes still reach a majority
    When I stop store member 0
    Then the API server still accepts writes and serves them back
