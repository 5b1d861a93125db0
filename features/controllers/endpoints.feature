@controllers @needs-controllers @needs-scheduler @needs-nodes
Feature: The Endpoints controller lists the ready Pods behind a Service
  It watches Services and Pods; a Pod matching the selector and Ready is listed under
  addresses, a matching Pod not Ready under notReadyAddresses (chapter 11.1.6, 11.5).

  Background:
    Given the cluster has at least 1 ready node

  Scenario: Ready Pods are addresses, unready ones are notReadyAddresses
    When I create:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: web}
      spec:
        selector: {app: web}
        ports: [{port: 80, targetPort: 8080}]
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: ready
        labels: {app: web}
      spec:
        containers:
        - name: web
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080"]
          readinessProbe:
            httpGet: {path: /healthz, port: 8080}
            periodSeconds: 1
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: never-ready
        labels: {app: web}
      spec:
        containers:
        - name: web
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080"]
          readinessProbe:
            httpGet: {path: /healthz, port: 9999}
            periodSeconds: 1
      """
    Then eventually the Pod "ready" is Ready
    And eventually the Pod "never-ready" is Running
    And eventually the Endpoints "web" list exactly the IPs of the Ready Pods labelled "app=web"
    And eventually the Endpoints "web" list the IP of the Pod "never-ready" as not ready

  Scenario: A deleted Pod leaves the Endpoints
    When I create:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: web}
      spec:
        selector: {app: web}
        ports: [{port: 80, targetPort: 8080}]
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: one
        labels: {app: web}
      spec:
        terminationGracePeriodSeconds: 1
        containers:
        - name: web
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080"]
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: two
        labels: {app: web}
      spec:
        containers:
        - name: web
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080"]
      """
    Then eventually 2 Pods labelled "app=web" are Ready
    And eventually the Endpoints "web" list exactly the IPs of the Ready Pods labelled "app=web"
    When I delete the Pod "one"
    Then eventually the Pod "one" no longer exists
    And eventually the Endpoints "web" list exactly the IPs of the Ready Pods labelled "app=web"
