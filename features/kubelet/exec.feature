@kubelet @needs-nodes @needs-scheduler
Feature: Into a running Pod: exec, attach and port-forward
  The API server checks a `pods/exec`, `pods/attach` or `pods/portforward` request and
  hands the client's stream to the kubelet of the Pod's node, which runs the command in
  the container (its namespaces, environment and working directory), joins the
  container's own stdin and terminal (a container with `stdin` and `tty`), or dials the
  Pod's port; the exit code comes back as a `NonZeroExitCode` Status (`kubectl exec`,
  `kubectl attach -it`, `kubectl run -it`, `kubectl port-forward`).

  Scenario: A command run in a container prints the Pod's hostname and its exit code comes back
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
    Then eventually the Pod "shell" is Ready
    And running the shell command "echo $HOSTNAME; exit 3" in the Pod "shell" prints "shell" and exits with code 3
    And running the shell command "echo done" in the Pod "shell" prints "done" and exits with code 0

  Scenario: A port of the Pod is forwarded through the API server
    Given the cluster has at least 1 ready node
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: web}
      spec:
        containers:
        - name: web
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080", "--udp-port=-1"]
      """
    Then eventually the Pod "web" is Ready
    And port-forwarding to port 8080 of the Pod "web" answers GET "/hostname" with "web"

  @attach
  Scenario: Lines typed into an attached terminal reach the container's shell, and exit ends it
    Given the cluster has at least 1 ready node
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: console}
      spec:
        restartPolicy: Never
        containers:
        - name: console
          image: busybox
          command: ["sh"]
          stdin: true
          stdinOnce: true
          tty: true
      """
    Then eventually the Pod "console" is Ready
    And attaching to the Pod "console" with a terminal, typing "echo $((6*7))" shows "42", and typing "exit" ends the session with Success
    And eventually the Pod "console" is Succeeded
