@apiserver
Feature: Optimistic concurrency with resourceVersion
  The API server does not lock objects. Every update carries the resourceVersion the
  client read; if the object changed since, the update is refused with 409 Conflict and
  the client must re-read and retry (chapter 11.1.3).

  Scenario: An update from a stale copy is refused with 409 Conflict
    Given the following objects exist:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: counter}
      data: {value: "1"}
      """
    And I read the ConfigMap "counter" and keep it as "mine"
    When someone else sets "value" to "2" in the ConfigMap "counter"
    And I try to set "value" to "3" in my copy "mine"
    Then the request is rejected with status 409 and reason "Conflict"
    And the rejection message is 'Operation cannot be fulfilled on configmaps "counter": the object has been modified; please apply your changes to the latest version and try again'
    And the ConfigMap "counter" has "data.value" equal to "2"

  Scenario: Re-reading and retrying after a conflict succeeds
    Given the following objects exist:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: counter}
      data: {value: "1"}
      """
    And I read the ConfigMap "counter" and keep it as "mine"
    When someone else sets "value" to "2" in the ConfigMap "counter"
    And I try to set "value" to "3" in my copy "mine"
    Then the request is rejected with status 409 and reason "Conflict"
    When I read the ConfigMap "counter" and keep it as "fresh"
    And I try to set "value" to "3" in my copy "fresh"
    Then the ConfigMap "counter" has "data.value" equal to "3"
