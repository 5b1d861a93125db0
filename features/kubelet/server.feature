@kubelet @kubelet-server @needs-nodes @needs-scheduler
Feature: The kubelet's own server, reached through nodes/proxy
  The kubelet serves HTTPS on the port its Node advertises
  (`status.daemonEndpoints.kubeletEndpoint.Port`, upstream's 10250) with a self-signed
  certificate when given none, and the API server's `nodes/proxy` reaches it
  (`kubectl get --raw /api/v1/nodes/NODE/proxy/pods`): `/pods` lists the pods that
  kubelet runs, `/runningpods/` those with running containers, `/healthz` says `ok`, and
  `POST /run/{namespace}/{pod}/{container}?cmd=...` answers with the output of the command
  (`cmd` split on spaces, as upstream).

  Background:
    Given the cluster has at least 1 ready node
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: shell}
      spec:
        containers:
        - name: shell
          image: busybox
          command: ["sleep", "3600"]
      """
    And I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: elsewhere}
      spec:
        nodeName: nowhere-{namespace}
        containers:
        - name: elsewhere
          image: busybox
          command: ["sleep", "3600"]
      """
    Then eventually the Pod "shell" is Ready

  Scenario: The kubelet lists the Pods it runs, and not a Pod bound to another node
    Then the kubelet of the Pod "shell"'s node answers "/pods" with a PodList naming it and not the Pod "elsewhere"
    And the kubelet of the Pod "shell"'s node answers "/runningpods/" with a PodList naming it and not the Pod "elsewhere"

  Scenario: The kubelet is healthy and runs a command in a container, with its environment
    Then the kubelet of the Pod "shell"'s node answers GET "/healthz" with "ok"
    And the kubelet of the Pod "shell"'s node answers POST "/run/{namespace}/shell/shell?cmd=env" with a line "HOSTNAME=shell"
