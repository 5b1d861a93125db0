@apiserver
Feature: The API server stores objects and serves them back (RESTful CRUD)
  Every object is created, read, listed, updated and deleted through the API server,
  which assigns its identity (uid, creationTimestamp, resourceVersion) and keeps it in the
  store. Each scenario runs in its own namespace, shown as {namespace}.

  Scenario: An object created through the API can be read back with server-assigned fields
    When I create:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: settings
        labels:
          app: web
      data:
        colour: blue
      """
    Then the ConfigMap "settings" exists
    And the ConfigMap "settings" has "data.colour" equal to "blue"
    And the ConfigMap "settings" has "metadata.namespace" equal to "{namespace}"
    And the ConfigMap "settings" has the uid and creationTimestamp the API server assigned

  Scenario: Lists return exactly the objects of the namespace, filtered by label selector
    Given the following objects exist:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: front
        labels: {tier: front}
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: back
        labels: {tier: back}
      """
    Then listing ConfigMaps labelled "tier" returns exactly "back, front"
    And listing ConfigMaps labelled "tier=front" returns exactly "front"
    And listing ConfigMaps labelled "tier,tier!=front" returns exactly "back"
    And listing ConfigMaps labelled "tier in (front, back)" returns exactly "back, front"

  Scenario: An update changes the object and its resourceVersion
    Given the following objects exist:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      data: {colour: blue}
      """
    And I read the ConfigMap "settings" and keep it as "before"
    When I set "colour" to "green" in the ConfigMap "settings"
    Then the ConfigMap "settings" has "data.colour" equal to "green"
    And the resourceVersion of the ConfigMap "settings" differs from my copy "before"

  Scenario: A merge patch changes only the fields it names
    Given the following objects exist:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      data: {colour: blue, size: large}
      """
    When I patch the ConfigMap "settings" with:
      """
      data:
        colour: red
      """
    Then the ConfigMap "settings" has "data.colour" equal to "red"
    And the ConfigMap "settings" has "data.size" equal to "large"

  Scenario: A deleted object is gone, and reading it is a 404 NotFound
    Given the following objects exist:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      """
    When I delete the ConfigMap "settings"
    Then eventually the ConfigMap "settings" no longer exists
    When I try to read the ConfigMap "settings"
    Then the request is rejected with status 404 and reason "NotFound"
    And the rejection message is 'configmaps "settings" not found'

  Scenario: Creating an object that already exists is a 409 AlreadyExists
    Given the following objects exist:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      """
    When I try to create:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      """
    Then the request is rejected with status 409 and reason "AlreadyExists"
    And the rejection message is 'configmaps "settings" already exists'
