@performance @serial
Feature: API calls answer within upstream's API call latency SLOs
  Upstream's official SLOs (sig-scalability, slos/api_call_latency.md), at the 99th
  percentile: a mutating call on a single object (POST, PUT, PATCH, DELETE) or a read of a
  single object takes at most 1 s, a list within one namespace at most 5 s, and a list
  across the cluster at most 30 s. Upstream times a call inside the API server, from the
  request's arrival to the last byte of the answer; the harness times it on the client,
  from sending the request to reading the last byte, which can only be longer. The SLOs
  hold for a cluster whose churn stays at most 20 writes per second: the calls are made
  while a background writer adds a steady load below that.

  Scenario: ConfigMap calls of every verb and scope, under a steady churn
    Given a background writer creates a ConfigMap every 100 milliseconds
    When I measure 20 API calls of each verb and scope on ConfigMaps
    Then the p99 mutating API call latency is at most 1s
    And the p99 single-object read latency is at most 1s
    And the p99 namespace list latency is at most 5s
    And the p99 cluster list latency is at most 30s
