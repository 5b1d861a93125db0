@performance @serial @needs-nodes @needs-scheduler @needs-controllers @needs-proxy
Feature: A new Service is reachable through its cluster IP soon after it is created
  Network programming latency: from creating a Service to the first request through its
  cluster IP that one of its Pods answers. Upstream's SLI (sig-scalability,
  slos/network_programming_latency.md) times the proxy's programming from inside, and its
  SLO is not set yet; from outside, traffic is the only witness. The requests are sent as
  the networking features send them: from a client Pod's agnhost netexec, reached through
  the API server's pod proxy, a new one every 100 ms, so the figure is as fine as that.
  The Service must be reachable within 5 s, the time upstream gives a Pod to start.

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
      kind: Pod
      metadata:
        name: backend
        labels: {app: backend}
      spec:
        containers:
        - name: web
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080"]
      """
    Then eventually the Pod "client" is Ready
    And eventually the Pod "backend" is Ready

  Scenario: Services created one after another are each reachable within 5 seconds
    When I create 3 Services like this one and measure until the Pod "client" reaches each through its cluster IP:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: programmed}
      spec:
        selector: {app: backend}
        ports: [{port: 80, targetPort: 8080}]
      """
    Then the p99 network programming latency is at most 5s
