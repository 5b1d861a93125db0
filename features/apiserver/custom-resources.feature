@apiserver @crd
Feature: CustomResourceDefinitions add kinds to the API while it runs
  A CustomResourceDefinition (CRD) defines a new kind. Once the API server has accepted
  its names (NamesAccepted) and serves it (Established), the kind is an API resource like
  the built-in ones: discovery lists it, and objects of it are validated against the CRD's
  OpenAPI v3 schema, pruned of fields the schema does not know, defaulted from it, and
  offered the status and scale subresources and the printer columns the CRD asks for.
  Deleting the CRD first deletes every object of its kind (the cleanup finalizer).
  Each scenario's CRD lives in its own group, {namespace}.kubeproof.test.

  Background:
    Given the following objects exist:
      """
      apiVersion: apiextensions.k8s.io/v1
      kind: CustomResourceDefinition
      metadata:
        name: widgets.{namespace}.kubeproof.test
      spec:
        group: {namespace}.kubeproof.test
        scope: Namespaced
        names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wdg]}
        versions:
        - name: v1
          served: true
          storage: true
          subresources:
            status: {}
            scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
          additionalPrinterColumns:
          - {name: Color, type: string, jsonPath: .spec.color}
          - {name: Replicas, type: integer, jsonPath: .spec.replicas}
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  required: [size]
                  properties:
                    size: {type: integer, minimum: 1}
                    color: {type: string, enum: [blue, red], default: blue}
                    replicas: {type: integer, default: 1}
                status:
                  type: object
                  properties:
                    replicas: {type: integer}
      """
    And the CustomResourceDefinition "widgets.{namespace}.kubeproof.test" is established

  Scenario: The kind is accepted, established and listed by discovery
    Then eventually the CustomResourceDefinition "widgets.{namespace}.kubeproof.test" has condition "NamesAccepted" with status "True"
    And the CustomResourceDefinition "widgets.{namespace}.kubeproof.test" has "status.acceptedNames.kind" equal to "Widget"
    And eventually discovery lists the resource "widgets" in "{namespace}.kubeproof.test/v1"

  Scenario: Objects are defaulted and pruned to the schema
    When I create:
      """
      apiVersion: {namespace}.kubeproof.test/v1
      kind: Widget
      metadata: {name: small}
      spec: {size: 2, shape: round}
      """
    Then the Widget "small" has "spec.color" equal to "blue"
    And the Widget "small" has "spec.replicas" equal to "1"
    And the Widget "small" has "metadata.generation" equal to "1"
    And the Widget "small" has no field "spec.shape"
    And listing widgets returns exactly "small"

  Scenario: Objects that break the schema are refused, naming each field
    When I try to create:
      """
      apiVersion: {namespace}.kubeproof.test/v1
      kind: Widget
      metadata: {name: bad}
      spec: {size: 0, color: green}
      """
    Then the request is rejected with status 422 and reason "Invalid"
    And the rejection names the field "spec.size" with reason "FieldValueInvalid"
    And the rejection names the field "spec.color" with reason "FieldValueNotSupported"

  Scenario: Status is a subresource, and only the rest counts as a new generation
    Given the following objects exist:
      """
      apiVersion: {namespace}.kubeproof.test/v1
      kind: Widget
      metadata: {name: w}
      spec: {size: 1}
      """
    When I patch the Widget "w" with:
      """
      {"spec": {"size": 3}, "status": {"replicas": 5}}
      """
    Then the Widget "w" has "spec.size" equal to "3"
    And the Widget "w" has no field "status.replicas"
    And the Widget "w" has "metadata.generation" equal to "2"

  Scenario: The scale subresource reads and writes the paths the CRD names
    Given the following objects exist:
      """
      apiVersion: {namespace}.kubeproof.test/v1
      kind: Widget
      metadata: {name: w}
      spec: {size: 1}
      """
    When I scale the Widget "w" through its scale subresource to 4
    Then the Widget "w" has "spec.replicas" equal to "4"
    And the scale of the Widget "w" has "spec.replicas" equal to "4"

  Scenario: kubectl get prints the columns the CRD declares
    Given the following objects exist:
      """
      apiVersion: {namespace}.kubeproof.test/v1
      kind: Widget
      metadata: {name: w}
      spec: {size: 1, color: red}
      """
    Then the Widget "w" is printed with the columns "Name,Color,Replicas" and the cells "w,red,1"

  Scenario: Deleting the CRD deletes its objects first, and waits for their finalizers
    Given the following objects exist:
      """
      apiVersion: {namespace}.kubeproof.test/v1
      kind: Widget
      metadata:
        name: w
        finalizers: [kubeproof.test/hold]
      spec: {size: 1}
      """
    When I delete the CustomResourceDefinition "widgets.{namespace}.kubeproof.test"
    Then eventually the CustomResourceDefinition "widgets.{namespace}.kubeproof.test" has condition "Terminating" with status "True"
    And eventually the CustomResourceDefinition "widgets.{namespace}.kubeproof.test" has "status.conditions.2.reason" equal to "InstanceDeletionInProgress"
    And the Widget "w" has "metadata.finalizers.0" equal to "kubeproof.test/hold"
    When I patch the Widget "w" with:
      """
      {"metadata": {"finalizers": null}}
      """
    Then eventually the CustomResourceDefinition "widgets.{namespace}.kubeproof.test" no longer exists

  @disruption @needs-controllers @needs-scheduler @needs-nodes
  Scenario: A disruption budget counts a custom controller's Pods through its scale
    # With maxUnavailable the budget counts the Pods the controllers want (their scale),
    # not the Pods that exist.
    Given the following objects exist:
      """
      apiVersion: {namespace}.kubeproof.test/v1
      kind: Widget
      metadata: {name: w}
      spec: {size: 1, replicas: 3}
      """
    When I create 2 Pods labelled "app=w" controlled by the Widget "w"
    And I create:
      """
      apiVersion: policy/v1
      kind: PodDisruptionBudget
      metadata: {name: w}
      spec:
        maxUnavailable: 1
        selector:
          matchLabels: {app: w}
      """
    Then eventually the PodDisruptionBudget "w" has "status.expectedPods" equal to "3"

  Scenario: A CRD whose name is not its plural and group is refused
    When I try to create:
      """
      apiVersion: apiextensions.k8s.io/v1
      kind: CustomResourceDefinition
      metadata:
        name: gadgets.elsewhere.kubeproof.test
      spec:
        group: {namespace}.kubeproof.test
        scope: Namespaced
        names: {plural: gadgets, kind: Gadget}
        versions:
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema: {type: object}
      """
    Then the request is rejected with status 422 and reason "Invalid"
    And the rejection names the field "metadata.name" with reason "FieldValueInvalid"

  Scenario: Validation rules in the schema refuse objects, with the rule's message
    Given the following objects exist:
      """
      apiVersion: apiextensions.k8s.io/v1
      kind: CustomResourceDefinition
      metadata:
        name: gauges.{namespace}.kubeproof.test
      spec:
        group: {namespace}.kubeproof.test
        scope: Namespaced
        names: {plural: gauges, singular: gauge, kind: Gauge}
        versions:
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  x-kubernetes-validations:
                  - rule: self.minReplicas <= self.maxReplicas
                    message: minReplicas must not exceed maxReplicas
                  properties:
                    minReplicas: {type: integer}
                    maxReplicas: {type: integer}
                    mode:
                      type: string
                      x-kubernetes-validations:
                      - {rule: self == oldSelf, message: mode is immutable}
      """
    And the CustomResourceDefinition "gauges.{namespace}.kubeproof.test" is established
    When I try to create:
      """
      apiVersion: {namespace}.kubeproof.test/v1
      kind: Gauge
      metadata: {name: upside-down}
      spec: {minReplicas: 5, maxReplicas: 2}
      """
    Then the request is rejected with status 422 and reason "Invalid"
    And the rejection names the field "spec" with reason "FieldValueInvalid"
    And the rejection message ends with 'spec: Invalid value: "object": minReplicas must not exceed maxReplicas'
    When I create:
      """
      apiVersion: {namespace}.kubeproof.test/v1
      kind: Gauge
      metadata: {name: fine}
      spec: {minReplicas: 1, maxReplicas: 2, mode: fast}
      """
    And I try to patch the Gauge "fine" with:
      """
      spec: {mode: slow}
      """
    Then the request is rejected with status 422 and reason "Invalid"
    And the rejection names the field "spec.mode" with reason "FieldValueInvalid"

  Scenario: A rule that does not compile makes the CRD invalid
    When I try to create:
      """
      apiVersion: apiextensions.k8s.io/v1
      kind: CustomResourceDefinition
      metadata:
        name: broken.{namespace}.kubeproof.test
      spec:
        group: {namespace}.kubeproof.test
        scope: Namespaced
        names: {plural: broken, kind: Broken}
        versions:
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              x-kubernetes-validations:
              - rule: "self.a >"
      """
    Then the request is rejected with status 422 and reason "Invalid"
    And the rejection names the field "spec.validation.openAPIV3Schema.x-kubernetes-validations[0].rule" with reason "FieldValueInvalid"

  Scenario: Fields a CRD declares selectable filter lists; others are refused
    Given the following objects exist:
      """
      apiVersion: apiextensions.k8s.io/v1
      kind: CustomResourceDefinition
      metadata:
        name: lamps.{namespace}.kubeproof.test
      spec:
        group: {namespace}.kubeproof.test
        scope: Namespaced
        names: {plural: lamps, singular: lamp, kind: Lamp}
        versions:
        - name: v1
          served: true
          storage: true
          selectableFields:
          - jsonPath: .spec.color
          - jsonPath: .spec.watts
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  properties:
                    color: {type: string}
                    watts: {type: integer}
                    shape: {type: string}
      """
    And the CustomResourceDefinition "lamps.{namespace}.kubeproof.test" is established
    When I create:
      """
      apiVersion: {namespace}.kubeproof.test/v1
      kind: Lamp
      metadata: {name: red-40}
      spec: {color: red, watts: 40, shape: round}
      ---
      apiVersion: {namespace}.kubeproof.test/v1
      kind: Lamp
      metadata: {name: blue-40}
      spec: {color: blue, watts: 40, shape: round}
      """
    Then listing lamps with fields "spec.color=red" returns exactly "red-40"
    And listing lamps with fields "spec.watts=40,spec.color!=red" returns exactly "blue-40"
    And listing lamps with fields "metadata.name=blue-40" returns exactly "blue-40"
    When I try to list lamps with fields "spec.shape=round"
    Then the request is rejected with status 400 and reason "BadRequest"
    And the rejection message is "field label not supported: spec.shape"
