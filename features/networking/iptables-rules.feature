@networking @needs-nodes @needs-scheduler @needs-controllers @reference-only
Feature: In iptables mode kube-proxy turns a Service into NAT rules
  In iptables mode no proxy process sits in the path: the Service's chain picks one
  endpoint chain at random, with probabilities that make the choice uniform, and each
  endpoint chain DNATs to one Pod. A Service with no endpoints gets a REJECT rule, so
  nothing answers on its IP (chapter 11.5). The rules are the ones the reference's
  kube-proxy renders for the live cluster (`refkube proxy --mode iptables --dry-run`).

  Scenario: The Service's chain sends its cluster IP to each Ready Pod
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
              args: ["netexec", "--http-port=8080", "--udp-port=-1"]
              ports: [{containerPort: 8080}]
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: web}
      spec:
        selector: {app: web}
        ports: [{port: 80, targetPort: 8080}]
      """
    Then eventually 3 Pods labelled "app=web" are Ready
    And eventually the Endpoints "web" list exactly the IPs of the Ready Pods labelled "app=web"
    And the iptables rules kube-proxy renders send the Service "web" port 80 to the Ready Pods labelled "app=web" on port 8080

  Scenario: A Service without endpoints is rejected, not routed
    When I create:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: lonely}
      spec:
        selector: {app: nobody}
        ports: [{port: 80, targetPort: 8080}]
      """
    Then the iptables rules kube-proxy renders reject traffic to the Service "lonely"
