@performance @serial
Feature: Every watcher learns of a write promptly
  Every control loop learns of changes by watch, so a slow watch slows the whole system.
  Upstream defines the SLI (sig-scalability, slos/watch_latency.md: from the write being
  stored to the event being ready for every watcher) but sets no SLO yet. The harness
  opens many watches, each its own stream, then writes, and measures from each write's
  answer to its event's arrival at each watcher (zero when the event arrives first). It
  holds the watchers to the SLO of a single-object read, 1 s: a watcher should not learn
  of a write later than a reader could.

  Scenario: Ten watchers each see every one of twenty writes
    When I write 20 ConfigMaps while 10 watchers watch them
    Then the p99 watch latency is at most 1s
