@controllers @needs-controllers
Feature: The garbage collector deletes dependents with their owner
  Objects point to their owner with ownerReferences. Deleting the owner in the background
  deletes the dependents; Foreground deletes them first; Orphan leaves them, without the
  reference.

  Background:
    Given the following objects exist:
      """
      apiVersion: apps/v1
      kind: ReplicaSet
      metadata: {name: web}
      spec:
        replicas: 2
        selector:
          matchLabels: {app: web}
        template:
          metadata:
            labels: {app: web}
          spec:
            containers:
            - name: web
              image: registry.k8s.io/pause:3.10
      """

  Scenario: Background deletion removes the owner, then its Pods
    Then eventually there are 2 Pods labelled "app=web"
    When I delete the ReplicaSet "web" with propagation policy Background
    Then eventually the ReplicaSet "web" no longer exists
    And eventually there are 0 Pods labelled "app=web"

  Scenario: Foreground deletion removes the Pods before the owner
    Then eventually there are 2 Pods labelled "app=web"
    When I delete the ReplicaSet "web" with propagation policy Foreground
    Then eventually the ReplicaSet "web" no longer exists
    And eventually there are 0 Pods labelled "app=web"
    And the observed writes happened in this causal order:
      | kind       | name  | milestone   |
      | ReplicaSet | web   | terminating |
      | Pod        | web-* | deleted     |
      | ReplicaSet | web   | deleted     |

  Scenario: Orphan deletion keeps the Pods and removes their owner reference
    Then eventually there are 2 Pods labelled "app=web"
    When I delete the ReplicaSet "web" with propagation policy Orphan
    Then eventually the ReplicaSet "web" no longer exists
    And eventually there are 2 Pods labelled "app=web"
    And every Pod labelled "app=web" eventually has no owner

  @crd
  Scenario: Dependents of a custom resource are collected when it is deleted
    Given the following objects exist:
      """
      apiVersion: apiextensions.k8s.io/v1
      kind: CustomResourceDefinition
      metadata:
        name: widgets.{namespace}.kubeproof.test
      spec:
        group: {namespace}.kubeproof.test
        scope: Namespaced
        names: {plural: widgets, singular: widget, kind: Widget}
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
                  properties:
                    size: {type: integer}
      """
    And the CustomResourceDefinition "widgets.{namespace}.kubeproof.test" is established
    When I create:
      """
      apiVersion: {namespace}.kubeproof.test/v1
      kind: Widget
      metadata: {name: owner}
      spec: {size: 1}
      """
    And I remember the uid of the Widget "owner" as "widget-uid"
    And I create:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: owned
        ownerReferences:
        - apiVersion: {namespace}.kubeproof.test/v1
          kind: Widget
          name: owner
          uid: {widget-uid}
      data: {color: blue}
      """
    And I delete the Widget "owner"
    Then eventually the Widget "owner" no longer exists
    And eventually the ConfigMap "owned" no longer exists
