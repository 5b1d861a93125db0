@authz @security
Feature: Every request is authorized: RBAC, the Node authorizer and NodeRestriction
  With authorization on (`--authorization-mode=Node,RBAC`, upstream's kubeadm default),
  an identity may do only what its bindings grant; a kubelet, user `system:node:NAME` in
  `system:nodes`, may change only its own Node; nobody may grant rights they do not hold;
  and `kubectl auth can-i` (the access review APIs) answers from the same rules. The
  scenarios act as other identities the way `kubectl --as --as-group` does, through
  impersonation headers. Each scenario runs in its own namespace, shown as {namespace}.

  Scenario: A kubelet may change its own Node but not another node
    Given the following objects exist:
      """
      apiVersion: v1
      kind: Node
      metadata: {name: "{namespace}-a"}
      ---
      apiVersion: v1
      kind: Node
      metadata: {name: "{namespace}-b"}
      """
    When I act as "system:node:{namespace}-a" in the groups "system:nodes"
    And they try to patch the Node "{namespace}-a" with:
      """
      metadata: {labels: {topology.kubernetes.io/zone: zone-1}}
      """
    Then the request is allowed
    When they try to patch the Node "{namespace}-b" with:
      """
      metadata: {labels: {topology.kubernetes.io/zone: zone-1}}
      """
    Then the request is rejected with status 403 and reason "Forbidden"
    And the rejection message is 'nodes "{namespace}-b" is forbidden: node "{namespace}-a" is not allowed to modify node "{namespace}-b"'
    When they try to delete the Node "{namespace}-b"
    Then the request is rejected with status 403 and reason "Forbidden"
    And the rejection message is 'nodes "{namespace}-b" is forbidden: User "system:node:{namespace}-a" cannot delete resource "nodes" in API group "" at the cluster scope'
    When they try to get the Node "{namespace}-b"
    Then the request is rejected with status 403 and reason "Forbidden"
    And the rejection message starts with 'nodes "{namespace}-b" is forbidden: User "system:node:{namespace}-a" cannot get resource "nodes" in API group "" at the cluster scope: '
    And the rejection message ends with "node '{namespace}-a' cannot read '{namespace}-b', only its own Node object"

  Scenario: A kubelet may evict only the pods bound to its own Node
    Given the following objects exist:
      """
      apiVersion: v1
      kind: Node
      metadata: {name: "{namespace}-a"}
      ---
      apiVersion: v1
      kind: Node
      metadata: {name: "{namespace}-b"}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: on-a}
      spec:
        nodeName: "{namespace}-a"
        containers: [{name: c, image: registry.k8s.io/pause:3.10}]
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: on-b}
      spec:
        nodeName: "{namespace}-b"
        containers: [{name: c, image: registry.k8s.io/pause:3.10}]
      """
    When I act as "system:node:{namespace}-a" in the groups "system:nodes"
    And they try to evict the Pod "on-b"
    Then the request is rejected with status 403 and reason "Forbidden"
    And the rejection message is 'pods "on-b" is forbidden: node {namespace}-a can only evict pods with spec.nodeName set to itself'
    When they try to evict the Pod "on-a"
    Then the request is allowed

  Scenario: A service account may list pods only once a RoleBinding grants it
    When I act as "system:serviceaccount:{namespace}:robot"
    And they try to list pods
    Then the request is rejected with status 403 and reason "Forbidden"
    And the rejection message is 'pods is forbidden: User "system:serviceaccount:{namespace}:robot" cannot list resource "pods" in API group "" in the namespace "{namespace}"'
    When I act as myself again
    And I create:
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: Role
      metadata: {name: pod-reader}
      rules:
      - {apiGroups: [""], resources: [pods], verbs: [get, list, watch]}
      ---
      apiVersion: rbac.authorization.k8s.io/v1
      kind: RoleBinding
      metadata: {name: robot-reads-pods}
      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
      subjects:
      - {kind: ServiceAccount, name: robot, namespace: "{namespace}"}
      """
    And I act as "system:serviceaccount:{namespace}:robot"
    Then they may list pods within a short time
    When they try to list secrets
    Then the request is rejected with status 403 and reason "Forbidden"

  Scenario: Access reviews answer as the rules say
    Given the following objects exist:
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: Role
      metadata: {name: config-reader}
      rules:
      - {apiGroups: [""], resources: [configmaps], verbs: [get, list]}
      ---
      apiVersion: rbac.authorization.k8s.io/v1
      kind: RoleBinding
      metadata: {name: jane-reads-config}
      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: config-reader}
      subjects:
      - {apiGroup: rbac.authorization.k8s.io, kind: User, name: jane}
      """
    Then a SubjectAccessReview says "jane" may get configmaps
    And a SubjectAccessReview says "jane" cannot delete configmaps
    And a SubjectAccessReview says "system:serviceaccount:{namespace}:default" cannot list secrets
    When I act as "jane"
    Then a SelfSubjectAccessReview says they may list configmaps
    And a SelfSubjectAccessReview says they cannot create pods

  Scenario: Nobody may bind a role whose rights they do not hold
    Given the following objects exist:
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: Role
      metadata: {name: binder}
      rules:
      - {apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}
      - {apiGroups: [""], resources: [pods], verbs: [get]}
      ---
      apiVersion: rbac.authorization.k8s.io/v1
      kind: RoleBinding
      metadata: {name: jane-binds}
      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: binder}
      subjects:
      - {apiGroup: rbac.authorization.k8s.io, kind: User, name: jane}
      """
    Then a SubjectAccessReview says "jane" may create rolebindings
    When I act as "jane"
    And they try to create:
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: RoleBinding
      metadata: {name: jane-is-admin}
      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
      subjects:
      - {apiGroup: rbac.authorization.k8s.io, kind: User, name: jane}
      """
    Then the request is rejected with status 403 and reason "Forbidden"
    And the rejection message starts with 'rolebindings.rbac.authorization.k8s.io "jane-is-admin" is forbidden: user "jane" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:'
    When they try to create:
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: RoleBinding
      metadata: {name: jane-shares}
      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: binder}
      subjects:
      - {apiGroup: rbac.authorization.k8s.io, kind: User, name: joe}
      """
    Then the request is allowed
