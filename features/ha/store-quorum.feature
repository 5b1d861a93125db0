@ha @disruptive @fault-store-member
Feature: A write needs a majority of the store's members, and no acknowledged write is lost
  The store's members agree through Raft. With one of three members stopped, the other two
  still form a majority and writes go on. With two stopped, nothing can be committed: the
  API server must say so promptly, with a Status, instead of hanging, and report etcd as
  failing. When the members are back, writes resume, and every write the API server ever
  acknowledged is still there (chapter 11.1.2).

  Scenario: Writes go on without one member, fail cleanly without a majority, and none acknowledged is lost
    Given a background writer creates a ConfigMap every 200 milliseconds
    When I stop store member 0
    Then the background writer gets 10 more writes acknowledged within 15 seconds
    When I stop store member 1
    Then a write fails within 15 seconds with a Kubernetes Status error
    And within 15 seconds "/readyz?verbose" reports not ready, naming "etcd"
    And within 30 seconds the component statuses "etcd-0, etcd-1" are unhealthy
    When I start store member 0
    And I start store member 1
    Then within 60 seconds the API server accepts writes and serves them back
    And within 30 seconds "/readyz?verbose" reports ready
    And within 30 seconds the component statuses "etcd-0, etcd-1, etcd-2" are healthy
    And the background writer gets 10 more writes acknowledged within 30 seconds
    When I stop the background writer
    Then every write the background writer got acknowledged reads back
