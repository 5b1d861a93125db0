@networking @needs-nodes @needs-scheduler @needs-controllers @needs-proxy @proxy-modes @disruptive
Feature: kube-proxy works the same in userspace and iptables modes
  In userspace mode a real proxy process sits in the path; in iptables mode only kernel
  rules do (faster; the default). Either way the Service IP reaches the Pods (chapter 11.5).
  A cluster IP is virtual: in iptables mode no interface holds it, so nothing answers on
  it but the DNAT rules for the Service's own ports, and it cannot be pinged.

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
        name: server
        labels: {app: web}
      spec:
        containers:
        - name: web
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

  Scenario Outline: The cluster IP reaches the Pods in <mode> mode
    Given kube-proxy runs in "<mode>" mode
    Then eventually the Pod "server" is Ready
    And eventually the Pod "client" is Ready
    And eventually the Endpoints "web" list exactly the IPs of the Ready Pods labelled "app=web"
    And 5 requests from the Pod "client" to the Service "web" on port 80 reach at least 1 different Pods

    Examples:
      | mode      |
      | iptables  |
      | userspace |

  @needs-ping
  Scenario: In iptables mode the cluster IP answers nothing but the Service's ports
    Given kube-proxy runs in "iptables" mode
    Then eventually the Pod "server" is Ready
    And eventually the Pod "client" is Ready
    And eventually the Endpoints "web" list exactly the IPs of the Ready Pods labelled "app=web"
    And 5 requests from the Pod "client" to the Service "web" on port 80 reach at least 1 different Pods
    And requests from the Pod "client" to the Service "web" on port 81 get no reply
    And a ping from a Pod to the Pod "server" is answered
    And a ping from a Pod to the cluster IP of the Service "web" is not answered
