@networking @needs-nodes @needs-scheduler @needs-controllers @needs-proxy
Feature: A Service's cluster IP reaches its ready Pods, balancing the load
  kube-proxy makes the Service's virtual IP and port reach one of the Pods listed in its
  Endpoints, spreading connections over them; with no endpoints, connections are refused
  (chapter 11.5).

  Background:
    Given the cluster has at least 1 ready node
    And the following objects exist:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: client}
      spec:
        containers:
        - name: client
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080"]
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: web}
      spec:
        selector: {app: web}
        ports: [{port: 80, targetPort: 8080}]
      """

  Scenario: Requests to the cluster IP are spread over the Pods
    When I create:
      """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 3
        selector:
          matchLabels: {app: web}
        template:
          metadata:
            labels: {app: web}
          spec:
            containers:
            - name: web
              image: registry.k8s.io/e2e-test-images/agnhost:2.53
              args: ["netexec", "--http-port=8080"]
      """
    Then eventually 3 Pods labelled "app=web" are Ready
    And eventually the Pod "client" is Ready
    And eventually the Endpoints "web" list exactly the IPs of the Ready Pods labelled "app=web"
    And 30 requests from the Pod "client" to the Service "web" on port 80 reach at least 2 different Pods

  Scenario: A Service without endpoints refuses connections
    Then eventually the Pod "client" is Ready
    And requests from the Pod "client" to the Service "web" on port 80 are refused

  Scenario: Only ready Pods receive traffic
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: unready
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
    Then eventually the Pod "unready" is Running
    And eventually the Pod "client" is Ready
    And eventually the Endpoints "web" list the IP of the Pod "unready" as not ready
    And requests from the Pod "client" to the Service "web" on port 80 are refused
