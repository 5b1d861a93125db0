@rbac-api @security @apiserver
Feature: The RBAC API serves roles and bindings, with upstream's bootstrap policy and aggregation
  The API server serves Role, ClusterRole, RoleBinding and ClusterRoleBinding at
  rbac.authorization.k8s.io/v1. At start-up it creates upstream's bootstrap policy, each
  object labelled kubernetes.io/bootstrapping=rbac-defaults and marked for automatic
  update. The controller manager's clusterrole-aggregation controller fills the rules of a
  ClusterRole that has an aggregationRule, so a role labelled aggregate-to-view extends
  view, edit and admin. A binding's roleRef is fixed for its life. Each scenario runs in
  its own namespace, shown as {namespace}.

  Scenario: The bootstrap roles and bindings exist, labelled as upstream's
    Then the ClusterRole "cluster-admin" carries the label "kubernetes.io/bootstrapping=rbac-defaults"
    And the ClusterRole "cluster-admin" carries the annotation "rbac.authorization.kubernetes.io/autoupdate=true"
    And the ClusterRole "system:node-proxier" carries the label "kubernetes.io/bootstrapping=rbac-defaults"
    And the ClusterRole "system:controller:replicaset-controller" exists
    And the ClusterRoleBinding "cluster-admin" has "subjects[0].name" equal to "system:masters"
    And the ClusterRoleBinding "system:kube-scheduler" has "subjects[0].name" equal to "system:kube-scheduler"
    And the ClusterRoleBinding "system:node-proxier" has "subjects[0].name" equal to "system:kube-proxy"
    And eventually the ClusterRole "view" grants "list" on "pods"
    And eventually the ClusterRole "admin" grants "create" on "rolebindings.rbac.authorization.k8s.io"
    And the ClusterRole "view" does not grant "get" on "secrets"

  Scenario: A ClusterRole labelled aggregate-to-view extends view, edit and admin until it goes
    Then the ClusterRole "view" does not grant "get" on "widgets-{namespace}.example.com"
    When I create:
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRole
      metadata:
        name: widget-viewer-{namespace}
        labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
      rules:
      - {apiGroups: [example.com], resources: [widgets-{namespace}], verbs: [get, list, watch]}
      """
    Then eventually the ClusterRole "view" grants "get" on "widgets-{namespace}.example.com"
    And eventually the ClusterRole "edit" grants "list" on "widgets-{namespace}.example.com"
    And eventually the ClusterRole "admin" grants "watch" on "widgets-{namespace}.example.com"
    When I delete the ClusterRole "widget-viewer-{namespace}"
    Then eventually the ClusterRole "view" no longer grants "get" on "widgets-{namespace}.example.com"

  Scenario: A RoleBinding's subjects are defaulted and its roleRef cannot be changed
    Given the following objects exist:
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: Role
      metadata: {name: pod-reader}
      rules:
      - {apiGroups: [""], resources: [pods], verbs: [get, list]}
      ---
      apiVersion: rbac.authorization.k8s.io/v1
      kind: RoleBinding
      metadata: {name: read-pods}
      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
      subjects:
      - {kind: User, name: jane}
      """
    Then the RoleBinding "read-pods" has "subjects[0].apiGroup" equal to "rbac.authorization.k8s.io"
    When I try to patch the RoleBinding "read-pods" with:
      """
      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
      """
    Then the request is rejected with status 422 and reason "Invalid"
    And the rejection message is 'RoleBinding.rbac.authorization.k8s.io "read-pods" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"view"}: cannot change roleRef'
    And the RoleBinding "read-pods" has "roleRef.name" equal to "pod-reader"

  Scenario: A Role cannot name non-resource URLs, and every rule needs verbs
    When I try to create:
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: Role
      metadata: {name: bad}
      rules:
      - {nonResourceURLs: [/healthz], verbs: [get]}
      - {apiGroups: [""], resources: [pods]}
      """
    Then the request is rejected with status 422 and reason "Invalid"
    And the rejection names the field "rules[0].nonResourceURLs" with reason "FieldValueInvalid"
    And the rejection names the field "rules[1].verbs" with reason "FieldValueRequired"
