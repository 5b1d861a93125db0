@apiserver @server-side-apply
Feature: Server-side apply records who owns each field and refuses to take fields silently
  An apply (`PATCH` with `application/apply-patch+yaml` and a `fieldManager`) merges the
  applied configuration into the object and records, in `metadata.managedFields`, which
  manager set which fields. A second manager that changes a field the first one owns is
  refused with 409 Conflict unless it forces; a field a manager stops applying is
  removed. Each scenario runs in its own namespace, shown as {namespace}.

  Scenario: An apply records the applier's fields in managedFields
    When "first" applies:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: settings
        labels: {app: web}
      data:
        colour: blue
        size: large
      """
    Then the ConfigMap "settings" has "data.colour" equal to "blue"
    And the ConfigMap "settings" has a managed fields entry for "first" with operation Apply
    And "first" owns "data.colour" of the ConfigMap "settings"
    And "first" owns "metadata.labels.app" of the ConfigMap "settings"
    And "first" does not own "metadata.name" of the ConfigMap "settings"

  Scenario: A second manager changing an owned field conflicts with upstream's message
    Given "first" applies:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      data: {colour: blue}
      """
    When "second" tries to apply:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      data: {colour: green}
      """
    Then the request is rejected with status 409 and reason "Conflict"
    And the rejection message is 'Apply failed with 1 conflict: conflict with "first": .data.colour'
    And the rejection names the field ".data.colour" with reason "FieldManagerConflict"
    And the ConfigMap "settings" has "data.colour" equal to "blue"

  Scenario: Applying the same value shares the field, forcing takes it over
    Given "first" applies:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      data: {colour: blue, size: large}
      """
    When "second" applies:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      data: {size: large}
      """
    Then "first" owns "data.size" of the ConfigMap "settings"
    And "second" owns "data.size" of the ConfigMap "settings"
    When "second" applies with force:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      data: {colour: green, size: large}
      """
    Then the ConfigMap "settings" has "data.colour" equal to "green"
    And "second" owns "data.colour" of the ConfigMap "settings"
    And "first" does not own "data.colour" of the ConfigMap "settings"

  Scenario: A field the manager no longer applies is removed
    Given "first" applies:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      data: {colour: blue, size: large}
      """
    When "first" applies:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      data: {colour: blue}
      """
    Then the ConfigMap "settings" no longer has "data.size"
    And the ConfigMap "settings" has "data.colour" equal to "blue"
    And "first" does not own "data.size" of the ConfigMap "settings"

  Scenario: An update records the updater's fields under its own manager
    Given "first" applies:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      data: {colour: blue}
      """
    When I patch the ConfigMap "settings" with:
      """
      data: {colour: red}
      """
    Then the ConfigMap "settings" has "data.colour" equal to "red"
    And "first" does not own "data.colour" of the ConfigMap "settings"
    When "first" applies with force:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      data: {colour: blue}
      """
    Then "first" owns "data.colour" of the ConfigMap "settings"

  Scenario: What the API server writes itself is recorded as its own Updates
    Then the Namespace "kube-system" has a managed fields entry for "kube-apiserver" with operation Update
    And the ClusterRole "cluster-admin" has a managed fields entry for "kube-apiserver" with operation Update
