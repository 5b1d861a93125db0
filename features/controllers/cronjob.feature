@controllers @cronjob @needs-controllers @needs-scheduler @needs-nodes
Feature: The CronJob controller runs Jobs on a schedule
  At each time of its cron schedule a CronJob creates a Job named
  <cronjob>-<scheduled time in minutes since the epoch>, annotated with that time
  (batch.kubernetes.io/cronjob-scheduled-timestamp). concurrencyPolicy Forbid skips a
  time while a run is still active; the history limits delete the oldest finished Jobs.

  The waits are counted in schedule minutes: a real minute on a real cluster. The
  embedded reference runs its CronJob controller's clock 60 times faster (the
  controller manager's cronjob_clock_rate; --upstream-timings keeps it at 1), so there
  a schedule minute passes every second and these scenarios take seconds.

  Background:
    Given the cluster has at least 1 ready node

  Scenario: Each run creates a Job named after its schedule time
    When I create:
      """
      apiVersion: batch/v1
      kind: CronJob
      metadata: {name: tick}
      spec:
        schedule: "*/1 * * * *"
        successfulJobsHistoryLimit: 10
        jobTemplate:
          spec:
            template:
              spec:
                restartPolicy: Never
                containers:
                - name: tick
                  image: busybox:1.36
                  command: ["sh", "-c", "echo tick"]
      """
    Then within 4 schedule minutes the CronJob "tick" has run 3 Jobs named after their schedule times
    And eventually an Event "SuccessfulCreate" about "tick" starts with "Created job tick-"

  Scenario: Forbid skips a run while the previous one is still active
    When I create:
      """
      apiVersion: batch/v1
      kind: CronJob
      metadata: {name: slow}
      spec:
        schedule: "*/1 * * * *"
        concurrencyPolicy: Forbid
        jobTemplate:
          spec:
            template:
              spec:
                restartPolicy: Never
                containers:
                - name: slow
                  image: busybox:1.36
                  command: ["sleep", "3600"]
      """
    Then within 2 schedule minutes the CronJob "slow" has run 1 Jobs named after their schedule times
    And for 4 schedule minutes the CronJob "slow" never has more than 1 Job
    And eventually an Event "JobAlreadyActive" about "slow" says "Not starting job because prior execution is running and concurrency policy is Forbid"

  Scenario: The history limit deletes the oldest succeeded Jobs
    When I create:
      """
      apiVersion: batch/v1
      kind: CronJob
      metadata: {name: hist}
      spec:
        schedule: "*/1 * * * *"
        successfulJobsHistoryLimit: 1
        jobTemplate:
          spec:
            template:
              spec:
                restartPolicy: Never
                containers:
                - name: hist
                  image: busybox:1.36
                  command: ["sh", "-c", "true"]
      """
    Then within 6 schedule minutes the CronJob "hist" has exactly 1 succeeded Jobs left after deleting older ones
