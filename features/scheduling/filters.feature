@scheduling @needs-scheduler @disruptive @fake-nodes
Feature: The scheduler only considers nodes that pass every filter
  The scheduler waits, by watch, for Pods without a node; it filters out nodes that cannot
  run the Pod, scores the rest and binds the Pod to the best one, only by writing through
  the API server (chapter 11.1.5). These scenarios register fake nodes (kept Ready by the
  harness, like kubemark's hollow nodes), so they need a cluster of their own.

  Background:
    Given fake nodes:
      | name   | cpu | memory | pods | labels    | taints                 | unschedulable |
      | small  | 1   | 2Gi    | 110  | disk=hdd  |                        | no            |
      | big    | 8   | 32Gi   | 110  | disk=ssd  |                        | no            |
      | tainted| 8   | 32Gi   | 110  | disk=ssd  | dedicated=db:NoSchedule| no            |
      | cordon | 8   | 32Gi   | 110  | disk=ssd  |                        | yes           |

  Scenario: A Pod goes only to a node with enough free cpu and memory (NodeResourcesFit)
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: hungry}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
          resources:
            requests: {cpu: "2", memory: 4Gi}
      """
    Then eventually the Pod "hungry" is scheduled to "big"

  Scenario: A Pod naming a node goes there (NodeName)
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: pinned}
      spec:
        nodeName: small
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then eventually the Pod "pinned" is scheduled to "small"

  Scenario: A node selector restricts the Pod to nodes with matching labels (NodeAffinity)
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: wants-hdd}
      spec:
        nodeSelector: {disk: hdd}
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then eventually the Pod "wants-hdd" is scheduled to "small"

  Scenario: Required node affinity restricts the Pod the same way (NodeAffinity)
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: affine}
      spec:
        affinity:
          nodeAffinity:
            requiredDuringSchedulingIgnoredDuringExecution:
              nodeSelectorTerms:
              - matchExpressions:
                - {key: disk, operator: NotIn, values: [ssd]}
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then eventually the Pod "affine" is scheduled to "small"

  Scenario: Only a Pod tolerating a node's taint may go there (TaintToleration)
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: db}
      spec:
        nodeSelector: {disk: ssd}
        tolerations:
        - {key: dedicated, operator: Equal, value: db, effect: NoSchedule}
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: intolerant}
      spec:
        nodeSelector: {disk: ssd}
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then eventually the Pod "db" is scheduled to one of "big, tainted"
    And eventually the Pod "intolerant" is scheduled to "big"

  Scenario: A cordoned node gets no new Pods (NodeUnschedulable)
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: anywhere-but-cordon}
      spec:
        affinity:
          nodeAffinity:
            requiredDuringSchedulingIgnoredDuringExecution:
              # matchFields takes exactly one name per requirement (upstream
              # validation); terms are ORed, so one term per node.
              nodeSelectorTerms:
              - matchFields:
                - {key: metadata.name, operator: In, values: [cordon]}
              - matchFields:
                - {key: metadata.name, operator: In, values: [small]}
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then eventually the Pod "anywhere-but-cordon" is scheduled to "small"

  Scenario: Two Pods asking for the same host port land on different nodes (NodePorts)
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: port-a}
      spec:
        nodeSelector: {disk: ssd}
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
          ports: [{containerPort: 80, hostPort: 8080}]
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: port-b}
      spec:
        nodeSelector: {disk: ssd}
        tolerations:
        - {key: dedicated, operator: Exists}
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
          ports: [{containerPort: 80, hostPort: 8080}]
      """
    Then eventually the Pods "port-a, port-b" are scheduled to different nodes

  Scenario: A Pod anti-affine to another never shares its node (InterPodAffinity)
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: first
        labels: {app: spread}
      spec:
        nodeName: big
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: second
        labels: {app: spread}
      spec:
        nodeSelector: {disk: ssd}
        tolerations:
        - {key: dedicated, operator: Exists}
        affinity:
          podAntiAffinity:
            requiredDuringSchedulingIgnoredDuringExecution:
            - labelSelector:
                matchLabels: {app: spread}
              topologyKey: kubernetes.io/hostname
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then eventually the Pod "second" is scheduled to "tainted"
