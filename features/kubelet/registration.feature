@kubelet @needs-nodes
Feature: The kubelet registers its Node and keeps its Lease fresh
  On start the kubelet creates its Node object, reports capacity and conditions, and
  renews a Lease named after the node in kube-node-lease as its heartbeat (chapter 11.1.7).

  Scenario: Every node is Ready, reports capacity, and renews its Lease
    Given the cluster has at least 1 ready node
    Then the Node "{node-1}" has "status.capacity.pods" equal to "110"
    And every ready node renews its Lease in "kube-node-lease"
