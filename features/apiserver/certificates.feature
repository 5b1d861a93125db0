@apiserver @certificates @needs-controllers
Feature: Certificate signing requests (certificates.k8s.io/v1)
  A user makes a key and a PKCS#10 request with openssl and submits it as a
  CertificateSigningRequest; the API server records who asked, an approver with the
  `approve` verb on the signer approves it through the `/approval` subresource, as
  `kubectl certificate approve` does, and the controller manager's `csrsigning`
  controller issues a certificate from the cluster CA into `status.certificate`.

  Scenario: A client certificate is requested, approved and issued by the cluster CA
    Given a key and a certificate signing request for "jane" in organization "dev" made with openssl
    When I submit it as the CertificateSigningRequest "jane-{namespace}" for signer "kubernetes.io/kube-apiserver-client" with usages "client auth, digital signature"
    Then the CertificateSigningRequest "jane-{namespace}" has "spec.signerName" equal to "kubernetes.io/kube-apiserver-client"
    When I approve the CertificateSigningRequest "jane-{namespace}"
    Then eventually the CertificateSigningRequest "jane-{namespace}" has a certificate for "jane" that the cluster CA verifies
    And the CertificateSigningRequest "jane-{namespace}" has "status.conditions[0].reason" equal to "KubectlApprove"

  Scenario: A request that breaks its signer's rules is marked Failed once approved
    Given a key and a certificate signing request for "jane" in organization "dev" made with openssl
    When I submit it as the CertificateSigningRequest "server-{namespace}" for signer "kubernetes.io/kube-apiserver-client" with usages "server auth"
    And I approve the CertificateSigningRequest "server-{namespace}"
    Then eventually the CertificateSigningRequest "server-{namespace}" has "status.conditions[1].reason" equal to "SignerValidationFailure"
    And the CertificateSigningRequest "server-{namespace}" has "status.conditions[1].message" equal to "invalid usage for client certificate: server auth"
