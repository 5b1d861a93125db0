@architecture
Feature: kubectl get componentstatuses reports the health of the control plane
  The control plane is etcd, the API server, the scheduler and the controller manager.
  The API server reports the health of the scheduler, the controller manager and each
  store member as ComponentStatus objects (chapter 11.1.1).

  Scenario: The component statuses name the scheduler, the controller manager and the store members
    Then the component statuses include "scheduler, controller-manager, etcd-*"

  @needs-scheduler @needs-controllers
  Scenario: With every component running, every component status is Healthy
    Then eventually every component status is Healthy

  Scenario: Component statuses are read-only
    When I try to create:
      """
      apiVersion: v1
      kind: ComponentStatus
      metadata: {name: fake}
      conditions:
      - type: Healthy
        status: "True"
      """
    Then the request is rejected with status 405 and reason "MethodNotAllowed"
