@security @apiserver
Feature: Secrets are stored as upstream stores them, and oversized or malformed writes are refused
  A Secret's write-only stringData is merged into its base64 data on every write and never
  stored or returned; ConfigMaps and Secrets may hold at most 1 MiB; option values the API
  does not know, and a server-side apply that names no field manager, are refused before
  anything is written. Each scenario runs in its own namespace, shown as {namespace}.

  Scenario: stringData is stored base64-encoded in data, wins over data, and is never returned
    When I create:
      """
      apiVersion: v1
      kind: Secret
      metadata: {name: db}
      data:
        user: YWRtaW4=
        password: b2xk
      stringData:
        password: hunter2
      """
    Then the Secret "db" has "data.password" equal to "aHVudGVyMg=="
    And the Secret "db" has "data.user" equal to "YWRtaW4="
    And the Secret "db" has no field "stringData"
    When I patch the Secret "db" with:
      """
      stringData: {password: changed}
      """
    Then the Secret "db" has "data.password" equal to "Y2hhbmdlZA=="
    And the Secret "db" has no field "stringData"

  Scenario: A ConfigMap over 1 MiB is refused as too long
    When I try to create a ConfigMap "big" holding 2097152 bytes
    Then the request is rejected with status 422 and reason "Invalid"
    And the rejection names the field "[]" with reason "FieldValueTooLong"

  Scenario: An unknown fieldValidation directive is refused and nothing is created
    When I try to create with the query "fieldValidation=Bogus":
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: directive}
      """
    Then the request is rejected with status 422 and reason "Invalid"
    And the rejection names the field "fieldValidation" with reason "FieldValueNotSupported"
    When I try to read the ConfigMap "directive"
    Then the request is rejected with status 404 and reason "NotFound"

  Scenario: A server-side apply without a field manager is refused
    When I try to apply without a field manager:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: applied}
      data: {a: b}
      """
    Then the request is rejected with status 422 and reason "Invalid"
    And the rejection message is 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
