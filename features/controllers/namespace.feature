@controllers @needs-controllers
Feature: Deleting a namespace deletes everything in it
  A deleted namespace stays Terminating while the namespace controller deletes every
  object in it; then it removes the namespace's finalizer and the namespace is gone.

  Scenario: A namespace and its objects are deleted together
    Given the following objects exist:
      """
      apiVersion: v1
      kind: Namespace
      metadata: {name: "{namespace}-doomed"}
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: inside
        namespace: "{namespace}-doomed"
      """
    When I delete the Namespace "{namespace}-doomed"
    Then eventually the Namespace "{namespace}-doomed" no longer exists
