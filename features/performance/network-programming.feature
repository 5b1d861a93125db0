@performance @serial @needs-nodes @needs-scheduler @needs-controllers @needs-proxy
Feature: A Service is reachable through its cluster IP soon after it is created or its backends are scaled up
  Network programming latency: from creating a Service, or from scaling its backends up
  from zero, to the first request through its cluster IP that one of its Pods answers.
  Upstream's SLI (sig-scalability, slos/network_programming_latency.md) counts both kinds of
  change and times the proxy's programming from inside; its SLO is not set yet. From
  outside, traffic is the only witness. The requests are sent as the networking features
  send them: from a client Pod's agnhost netexec, reached through the API server's pod
  proxy, a new one every 100 ms, so the figure is as fine as that.

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
      """
    Then eventually the Pod "client" is Ready

  Scenario: Services created one after another are each reachable within 5 seconds
    The Service must be reachable within 5 s, the time upstream gives a Pod to start.

    Given the following objects exist:
      """
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
    Then eventually the Pod "backend" is Ready
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

  Scenario: A Service whose backends are scaled up from zero is reachable within 10 seconds
    Each round starts from no backend at all (and no answer), so the figure holds the new
    Pod's start as well as the programming after it; the report splits the two. The
    Service must be reachable within 10 s: the 5 s upstream gives a Pod to start, and the
    5 s the create case gives the programming.

    Given the following objects exist:
      """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: scaled}
      spec:
        replicas: 0
        selector:
          matchLabels: {app: scaled}
        template:
          metadata:
            labels: {app: scaled}
          spec:
            containers:
            - name: web
              image: registry.k8s.io/e2e-test-images/agnhost:2.53
              args: ["netexec", "--http-port=8080"]
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: scaled}
      spec:
        selector: {app: scaled}
        ports: [{port: 80, targetPort: 8080}]
      """
    When I scale the Deployment "scaled" from 0 to 1 replica 3 times and measure until the Pod "client" reaches the Service "scaled" through its cluster IP
    Then the p99 network programming latency after a scale-up is at most 10s
