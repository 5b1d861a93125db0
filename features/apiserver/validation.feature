@apiserver
Feature: Invalid objects are refused with 422 Invalid and the fields at fault
  The API server validates every object before storing it. A refusal is a Status with
  code 422, reason Invalid, and one cause per offending field, as kubectl prints them.

  Scenario: A name that is not a DNS subdomain is refused
    When I try to create:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: Not_Valid}
      """
    Then the request is rejected with status 422 and reason "Invalid"
    And the rejection names the field "metadata.name" with reason "FieldValueInvalid"

  Scenario: A Pod without containers is refused, naming spec.containers
    When I try to create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: empty}
      spec:
        containers: []
      """
    Then the request is rejected with status 422 and reason "Invalid"
    And the rejection names the field "spec.containers" with reason "FieldValueRequired"
    And the rejection message is 'Pod "empty" is invalid: spec.containers: Required value'

  Scenario: A Deployment whose selector does not match its template labels is refused
    When I try to create:
      """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 1
        selector:
          matchLabels: {app: web}
        template:
          metadata:
            labels: {app: other}
          spec:
            containers:
            - name: web
              image: registry.k8s.io/e2e-test-images/agnhost:2.53
      """
    Then the request is rejected with status 422 and reason "Invalid"
    And the rejection names the field "spec.template.metadata.labels" with reason "FieldValueInvalid"

  Scenario: A label value that is too long is refused, naming the label
    When I try to create:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: labelled
        labels:
          app: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
      """
    Then the request is rejected with status 422 and reason "Invalid"
    And the rejection names the field "metadata.labels" with reason "FieldValueInvalid"
