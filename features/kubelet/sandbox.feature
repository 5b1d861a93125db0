@kubelet @needs-nodes @needs-scheduler @sandbox
Feature: A Pod whose sandbox dies gets a new one
  The infrastructure ("pause") container holds the Pod's namespaces. When it dies, the
  kubelet's next sync sees the sandbox not ready: it kills the Pod's containers, creates a
  new sandbox, starts the containers again in it (their restart counts go up) and says so
  with a SandboxChanged event (upstream kuberuntime_manager.go computePodActions/SyncPod).

  @fault-kill-sandbox
  Scenario: Killing a running Pod's pause process makes the kubelet re-create its sandbox
    Given the cluster has at least 1 ready node
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: survivor}
      spec:
        containers:
        - name: app
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080", "--udp-port=-1"]
      """
    Then eventually the Pod "survivor" is Ready
    When I kill the pause process of the Pod "survivor"
    Then eventually an Event "SandboxChanged" about "survivor" says "Pod sandbox changed, it will be killed and re-created."
    And eventually the container "app" of the Pod "survivor" has restarted at least 1 time
    And eventually the Pod "survivor" is Running
    And eventually the Pod "survivor" is Ready
