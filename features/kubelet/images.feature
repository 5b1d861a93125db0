@kubelet @images @needs-nodes @needs-scheduler @needs-controllers @needs-proxy
Feature: Pods of the images tutorials and upstream's e2e tests use
  Tutorials and upstream's e2e tests run `nginx`, `httpd`, `python` and `alpine`. An
  `nginx` container started with the image's default command serves the image's
  "Welcome to nginx!" page on port 80 of its Pod's IP, where other Pods reach it (on the
  reference, whose process runtime has no images, a built-in stand-in does).

  Scenario: An nginx Pod serves its welcome page to another Pod through a Service
    Given the cluster has at least 1 ready node
    When I create:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: web}
      spec:
        selector: {app: web}
        ports: [{port: 80, targetPort: 80}]
      """
    And I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: web, labels: {app: web}}
      spec:
        containers:
        - name: nginx
          image: nginx:1.27
          ports: [{containerPort: 80}]
          readinessProbe:
            httpGet: {path: /, port: 80}
            periodSeconds: 1
      """
    Then eventually the Pod "web" is Ready
    And eventually the Endpoints "web" list exactly the IPs of the Ready Pods labelled "app=web"
    # Created after the Service, the client gets its WEB_SERVICE_HOST variable.
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: client}
      spec:
        containers:
        - name: shell
          image: busybox
          command: ["sleep", "3600"]
      """
    Then eventually the Pod "client" is Ready
    # kube-proxy programs the Service a moment after its Endpoints change: retry briefly.
    # The client asks with nc where it has one: Debian's static busybox `wget` (what the
    # containers target's nodes run busybox commands with) crashes.
    And running the shell command "for i in $(seq 1 40); do if command -v nc >/dev/null; then printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 $WEB_SERVICE_HOST $WEB_SERVICE_PORT; else wget -q -T 2 -O - http://$WEB_SERVICE_HOST:$WEB_SERVICE_PORT/; fi | grep '<h1>' && break; sleep 0.25; done" in the Pod "client" prints "<h1>Welcome to nginx!</h1>" and exits with code 0
