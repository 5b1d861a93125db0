@event-chains @needs-controllers @needs-scheduler @needs-nodes @needs-proxy
Feature: A Service sets off Endpoints and proxy rules
  The Endpoints controller watches Services and Pods and writes the Endpoints object;
  every kube-proxy watches Services and Endpoints and makes the Service's cluster IP reach
  the Pods (chapter 11.1.8, 11.5).

  Background:
    Given the cluster has at least 1 ready node
    And the following objects exist:
      """
      apiVersion: apps/v1
      kind: Deployment
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
              image: registry.k8s.io/e2e-test-images/agnhost:2.53
              args: ["netexec", "--http-port=8080"]
              readinessProbe:
                httpGet: {path: /healthz, port: 8080}
                periodSeconds: 1
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: client
        labels: {role: client}
      spec:
        containers:
        - name: client
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080"]
      """

  Scenario: Service → Endpoints → reachable through the cluster IP
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
    Then eventually 2 Pods labelled "app=web" are Ready
    And eventually the Pod "client" is Running
    And eventually the Endpoints "web" list exactly the IPs of the Ready Pods labelled "app=web"
    And the observed writes happened in this causal order:
      | kind      | name | milestone     |
      | Service   | web  | created       |
      | Endpoints | web  | has-endpoints |
    And the event chain of "Service, Endpoints" matches the snapshot "service-chain"
    And 20 requests from the Pod "client" to the Service "web" on port 80 reach at least 2 different Pods

  Scenario: Scaling down removes the Pod from the Endpoints and from the rotation
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
    And I scale the Deployment "web" to 1 replica
    Then eventually 1 Pod labelled "app=web" are Ready
    And eventually the Pod "client" is Running
    And eventually the Endpoints "web" list exactly the IPs of the Ready Pods labelled "app=web"
    And 10 requests from the Pod "client" to the Service "web" on port 80 reach at least 1 different Pods
