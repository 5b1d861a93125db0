@apiserver
Feature: The API server fills in upstream's defaults and admission additions
  What a client leaves out, the API server fills in before storing the object, exactly as
  upstream does, so controllers, the scheduler and kubelets all see the same object.

  Scenario: A Pod gets the default scheduler, restart policy and grace period
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: plain}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then the Pod "plain" has "spec.schedulerName" equal to "default-scheduler"
    And the Pod "plain" has "spec.restartPolicy" equal to "Always"
    And the Pod "plain" has "spec.terminationGracePeriodSeconds" equal to "30"
    And the Pod "plain" has "spec.dnsPolicy" equal to "ClusterFirst"

  Scenario: A Pod tolerates not-ready and unreachable nodes for 300 seconds (DefaultTolerationSeconds)
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: plain}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
      """
    Then the Pod "plain" has "spec.tolerations.0.key" equal to "node.kubernetes.io/not-ready"
    And the Pod "plain" has "spec.tolerations.0.effect" equal to "NoExecute"
    And the Pod "plain" has "spec.tolerations.0.tolerationSeconds" equal to "300"
    And the Pod "plain" has "spec.tolerations.1.key" equal to "node.kubernetes.io/unreachable"
    And the Pod "plain" has "spec.tolerations.1.tolerationSeconds" equal to "300"

  Scenario: A Deployment gets a rolling update strategy of 25% surge and 25% unavailable
    When I create:
      """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
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
    Then the Deployment "web" has "spec.replicas" equal to "1"
    And the Deployment "web" has "spec.strategy.type" equal to "RollingUpdate"
    And the Deployment "web" has "spec.strategy.rollingUpdate.maxSurge" equal to "25%"
    And the Deployment "web" has "spec.strategy.rollingUpdate.maxUnavailable" equal to "25%"
    And the Deployment "web" has "spec.revisionHistoryLimit" equal to "10"
    And the Deployment "web" has "spec.progressDeadlineSeconds" equal to "600"

  Scenario: A Service gets a cluster IP from the service range and a TCP port
    When I create:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: web}
      spec:
        selector: {app: web}
        ports:
        - port: 80
          targetPort: 8080
      """
    Then the Service "web" has "spec.type" equal to "ClusterIP"
    And the Service "web" has "spec.ports.0.protocol" equal to "TCP"
    And the Service "web" has "spec.sessionAffinity" equal to "None"
