@controllers @needs-controllers @needs-scheduler @needs-nodes
Feature: The StatefulSet controller creates Pods with stable names, one at a time
  With the default OrderedReady policy, Pod <name>-N is created only once <name>-(N-1) is
  Running and Ready; scaling down removes the highest ordinal first.

  Background:
    Given the cluster has at least 1 ready node
    And the following objects exist:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: db}
      spec:
        clusterIP: None
        selector: {app: db}
        ports: [{port: 8080}]
      ---
      apiVersion: apps/v1
      kind: StatefulSet
      metadata: {name: db}
      spec:
        serviceName: db
        replicas: 3
        selector:
          matchLabels: {app: db}
        template:
          metadata:
            labels: {app: db}
          spec:
            terminationGracePeriodSeconds: 1
            containers:
            - name: db
              image: registry.k8s.io/e2e-test-images/agnhost:2.53
              args: ["netexec", "--http-port=8080"]
      """

  Scenario: Pods db-0, db-1, db-2 are created in order, each after the previous is Ready
    Then eventually 3 Pods labelled "app=db" are Ready
    And the Pods "db-0, db-1, db-2" were created in that order, each after the previous one was Ready

  Scenario: Scaling down removes the highest ordinal
    Then eventually 3 Pods labelled "app=db" are Ready
    When I scale the StatefulSet "db" to 2 replicas
    Then eventually the Pod "db-2" no longer exists
    And the Pod "db-0" exists
    And the Pod "db-1" exists
