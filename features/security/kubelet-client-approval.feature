@security @certificates @needs-controllers
Feature: Kubelet client certificates are approved automatically
  The controller manager's `csrapproving` controller approves a valid kubelet client
  request (signer `kubernetes.io/kube-apiserver-client-kubelet`, subject
  O=system:nodes, CN=system:node:<name>, client usages, no subjectAltNames) when a
  SubjectAccessReview says its requester may create `certificatesigningrequests/selfnodeclient`
  (a node renewing its own certificate, as kubeadm grants the group system:nodes) or
  `certificatesigningrequests/nodeclient`. Any other request waits for a human approver.

  Scenario: A node's own client certificate request is approved, a generic client request is not
    Given a key and a certificate signing request for "system:node:csr-{namespace}" in organization "system:nodes" made with openssl
    When I create:
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRoleBinding
      metadata: {name: "autoapprove-{namespace}"}
      roleRef:
        apiGroup: rbac.authorization.k8s.io
        kind: ClusterRole
        name: system:certificates.k8s.io:certificatesigningrequests:selfnodeclient
      subjects:
      - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:nodes}
      """
    When "system:node:csr-{namespace}" in group "system:nodes" submits it as the CertificateSigningRequest "generic-{namespace}" for signer "kubernetes.io/kube-apiserver-client" with usages "client auth, digital signature, key encipherment"
    And "system:node:csr-{namespace}" in group "system:nodes" submits it as the CertificateSigningRequest "node-{namespace}" for signer "kubernetes.io/kube-apiserver-client-kubelet" with usages "client auth, digital signature, key encipherment"
    Then eventually the CertificateSigningRequest "node-{namespace}" has "status.conditions[0].reason" equal to "AutoApproved"
    And the CertificateSigningRequest "node-{namespace}" has "status.conditions[0].message" equal to "Auto approving self kubelet client certificate after SubjectAccessReview."
    And eventually the CertificateSigningRequest "node-{namespace}" has a certificate for "system:node:csr-{namespace}" that the cluster CA verifies
    And the CertificateSigningRequest "generic-{namespace}" is neither approved nor denied
