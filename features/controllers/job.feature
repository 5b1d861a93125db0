@controllers @needs-controllers @needs-scheduler @needs-nodes
Feature: The Job controller runs Pods to completion
  A Job creates Pods until spec.completions of them succeed, then marks itself Complete.

  Background:
    Given the cluster has at least 1 ready node

  Scenario: A Job with three completions finishes after three successful Pods
    When I create:
      """
      apiVersion: batch/v1
      kind: Job
      metadata: {name: count}
      spec:
        completions: 3
        parallelism: 1
        template:
          spec:
            restartPolicy: Never
            containers:
            - name: work
              image: busybox:1.36
              command: ["sh", "-c", "echo done"]
      """
    Then eventually the Job "count" has condition "Complete" with status "True"
    And eventually the Job "count" has "status.succeeded" equal to "3"
    And eventually 3 Pods labelled "batch.kubernetes.io/job-name=count" are Succeeded

  Scenario: A failing Pod is retried until the backoff limit, then the Job fails
    When I create:
      """
      apiVersion: batch/v1
      kind: Job
      metadata: {name: doomed}
      spec:
        backoffLimit: 1
        template:
          spec:
            restartPolicy: Never
            containers:
            - name: work
              image: busybox:1.36
              command: ["sh", "-c", "exit 1"]
      """
    Then eventually the Job "doomed" has condition "Failed" with status "True"
    And eventually 2 Pods labelled "batch.kubernetes.io/job-name=doomed" are Failed
