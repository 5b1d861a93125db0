@controllers @needs-controllers @needs-scheduler @needs-nodes
Feature: The Deployment controller rolls out a new template and rolls back
  A Deployment owns ReplicaSets named <deployment>-<pod-template-hash>. Changing its
  template creates a new ReplicaSet and moves Pods over within maxSurge and
  maxUnavailable; rolling back brings the previous template back as a new revision.

  Background:
    Given the cluster has at least 1 ready node
    And the following objects exist:
      """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 4
        strategy:
          type: RollingUpdate
          rollingUpdate: {maxSurge: 1, maxUnavailable: 1}
        selector:
          matchLabels: {app: web}
        template:
          metadata:
            labels: {app: web}
          spec:
            terminationGracePeriodSeconds: 1
            containers:
            - name: web
              image: registry.k8s.io/e2e-test-images/agnhost:2.53
              args: ["netexec", "--http-port=8080"]
      """

  Scenario: The first rollout creates revision 1 and its Pods become available
    Then eventually the Deployment "web" has "status.availableReplicas" equal to "4"
    And eventually the Deployment "web" has "metadata.annotations[deployment.kubernetes.io/revision]" equal to "1"
    And eventually the Deployment "web" has condition "Available" with status "True"
    And eventually every Pod labelled "app=web" is controlled by a ReplicaSet of the Deployment "web"

  Scenario: A rolling update stays within maxSurge and maxUnavailable
    Then eventually the Deployment "web" has "status.availableReplicas" equal to "4"
    When I set the image of the Deployment "web" to "registry.k8s.io/e2e-test-images/agnhost:2.52"
    Then eventually the Deployment "web" has "status.updatedReplicas" equal to "4"
    And eventually the Deployment "web" has "status.availableReplicas" equal to "4"
    And eventually the Deployment "web" has "metadata.annotations[deployment.kubernetes.io/revision]" equal to "2"
    And eventually the Deployment "web" has condition "Progressing" with status "True"
    And during the rollout the ReplicaSets of "web" never wanted more than 5 Pods in total
    And during the rollout the ReplicaSets of "web" never had fewer than 3 available Pods once they had that many

  Scenario: Rolling back brings the previous template back as revision 3
    Then eventually the Deployment "web" has "status.availableReplicas" equal to "4"
    When I set the image of the Deployment "web" to "registry.k8s.io/e2e-test-images/agnhost:2.52"
    Then eventually the Deployment "web" has "metadata.annotations[deployment.kubernetes.io/revision]" equal to "2"
    And eventually the Deployment "web" has "status.updatedReplicas" equal to "4"
    When I roll back the Deployment "web"
    Then eventually the Deployment "web" has "metadata.annotations[deployment.kubernetes.io/revision]" equal to "3"
    And eventually the Deployment "web" has "spec.template.spec.containers.0.image" equal to "registry.k8s.io/e2e-test-images/agnhost:2.53"
    And eventually the Deployment "web" has "status.updatedReplicas" equal to "4"
    And eventually the Deployment "web" has "status.availableReplicas" equal to "4"
