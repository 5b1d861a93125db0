@apiserver
Feature: Watches push every change, in order, resumable from a revision
  Clients open an HTTP connection and watch: every change to a watched object is pushed
  to them, in the order the store committed it (chapter 11.1.4). A watch can resume from
  the last resourceVersion it saw; a revision that has been compacted away is answered
  with 410 Gone (reason Expired), and the client must list again.

  Scenario: A watch delivers ADDED, MODIFIED and DELETED in commit order
    When I start watching ConfigMaps as "w"
    And I create:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: first}
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: second}
      """
    And I set "k" to "v" in the ConfigMap "first"
    And I delete the ConfigMap "second"
    Then watch "w" receives, in order:
      | event    | name   |
      | ADDED    | first  |
      | ADDED    | second |
      | MODIFIED | first  |
      | DELETED  | second |

  Scenario: A watch resumed from a revision delivers exactly the changes after it
    Given the following objects exist:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: before}
      """
    And I note the current revision of ConfigMaps as "seen"
    When I create:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: after}
      """
    And I set "k" to "v" in the ConfigMap "before"
    And I start watching ConfigMaps from revision "seen" as "resumed"
    Then watch "resumed" receives, in order:
      | event    | name   |
      | ADDED    | after  |
      | MODIFIED | before |
    And watch "resumed" receives nothing else

  Scenario: A label-selector watch sees objects enter and leave the selection
    Given the following objects exist:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: mover
        labels: {tier: back}
      """
    When I start watching ConfigMaps labelled "tier=front" as "front"
    And I label the ConfigMap "mover" with "tier=front"
    And I set "k" to "v" in the ConfigMap "mover"
    And I label the ConfigMap "mover" with "tier=back"
    Then watch "front" receives, in order:
      | event    | name  |
      | ADDED    | mover |
      | MODIFIED | mover |
      | DELETED  | mover |
    And watch "front" receives nothing else

  # The churn pushes every namespace's ConfigMap history out of the watch cache, so a
  # watch resumed elsewhere at the same time would be expired too: it runs alone.
  @serial
  Scenario: Resuming from a revision older than the watch history is answered with 410 Expired
    Given the following objects exist:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: busy}
      """
    And I note the current revision of ConfigMaps as "old"
    When ConfigMaps change until the watch history no longer reaches revision "old"
    And I start watching ConfigMaps from revision "old" as "stale"
    Then watch "stale" receives an ERROR with code 410 and reason "Expired"

  # Compaction is store-wide: it runs alone so no other scenario's revision is compacted.
  @fault-compact @serial
  Scenario: Listing at an exact compacted revision is answered with 410 Expired
    Given the following objects exist:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: old}
      """
    And I note the current revision of ConfigMaps as "old"
    When I set "k" to "1" in the ConfigMap "old"
    And the store is compacted
    And I try to list ConfigMaps from the too-old revision "old"
    Then the request is rejected with status 410 and reason "Expired"

  # Initial events come in key order; the names sort before the kube-root-ca.crt
  # ConfigMap every namespace holds.
  Scenario: A streaming watch sends the current objects, then a bookmark marking their end
    Given the following objects exist:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: alpha}
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: beta}
      """
    When I start watching ConfigMaps with initial events and bookmarks as "stream"
    Then watch "stream" receives, in order:
      | event | name  |
      | ADDED | alpha |
      | ADDED | beta  |
    And watch "stream" receives a BOOKMARK marking the end of the initial events
    And watch "stream" delivered every initial ADDED event before that BOOKMARK
