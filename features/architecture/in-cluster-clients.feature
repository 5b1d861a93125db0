@architecture @needs-nodes @needs-scheduler @needs-controllers @needs-proxy @in-cluster-kubectl
Feature: A Pod reaches the API server as an in-cluster client
  Components and apps in Pods talk to the cluster only through the API server, as any
  client does (chapter 11.1). Every Pod gets what an in-cluster client needs: a token of
  its service account, bound to the Pod, and the cluster's CA, mounted at
  /var/run/secrets/kubernetes.io/serviceaccount, and the address of the `kubernetes`
  Service, whose endpoints are the API servers. kubectl in a Pod works with no
  kubeconfig at all.

  Scenario: kubectl in a Pod authenticates as the Pod's service account
    When I create:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: in-cluster}
      spec:
        restartPolicy: Never
        containers:
        - name: kubectl
          image: registry.k8s.io/kubectl:v1.33.0
          args: ["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]
      """
    Then eventually the Pod "in-cluster" is Succeeded
    And the log of the Pod "in-cluster" says "system:serviceaccount:{namespace}:default"

  # Under RBAC a service account may read nothing until it is granted: the Pod's gets
  # the bootstrap `view` role in its namespace, as an application's manifest would.
  Scenario: kubectl in a Pod reads the cluster through the kubernetes Service
    When I create:
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: RoleBinding
      metadata: {name: default-view}
      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
      subjects:
      - {kind: ServiceAccount, name: default, namespace: "{namespace}"}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: lister}
      spec:
        restartPolicy: Never
        containers:
        - name: kubectl
          image: registry.k8s.io/kubectl:v1.33.0
          args: ["get", "configmap", "kube-root-ca.crt", "-o", "name"]
      """
    Then eventually the Pod "lister" is Succeeded
    And the log of the Pod "lister" says "configmap/kube-root-ca.crt"
