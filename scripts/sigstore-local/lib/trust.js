// trust.js — the files that tell clients and verifiers about this instance:
// trusted_root.json (Sigstore's TrustedRoot, protobuf JSON: what verifiers
// such as airlock and cosign trust) and signing_config.json (SigningConfig
// v0.2: where cosign v3 and sigstore-go find Fulcio, Rekor, the TSA and the
// OIDC issuer).
'use strict';

const b64 = (der) => Buffer.from(der).toString('base64');
const OPERATOR = 'airlock-local';

// trustedRoot({url, ca, log, tsa, start}) — `start`: ISO time from which each key is valid.
function trustedRoot({ url, ca, log, tsa, start }) {
  const key = (der) => ({ rawBytes: b64(der), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } });
  const chain = (...certs) => ({ certificates: certs.map((c) => ({ rawBytes: b64(c) })) });
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{ baseUrl: url, hashAlgorithm: 'SHA2_256', publicKey: key(log.publicKey), logId: { keyId: b64(log.logID) } }],
    certificateAuthorities: [{
      subject: { organization: 'airlock local Sigstore', commonName: 'fulcio' },
      uri: url,
      certChain: chain(ca.intermediateCertificate, ca.rootCertificate),
      validFor: { start },
    }],
    ctlogs: [{
      baseUrl: url, hashAlgorithm: 'SHA2_256', publicKey: key(ca.ctLog.publicKey),
      logId: { keyId: b64(ca.ctLog.logID) },
    }],
    timestampAuthorities: [{
      subject: { organization: 'airlock local Sigstore', commonName: 'tsa' },
      uri: `${url}/api/v1/timestamp`,
      certChain: chain(tsa.signingCertificate, tsa.rootCertificate),
      validFor: { start },
    }],
  };
}

// signingConfig({url, issuer, start}) — every service at API version 1
// (Fulcio's v2 signingCert API, Rekor v1, the TSA).
function signingConfig({ url, issuer, start }) {
  const service = (u) => ({ url: u, majorApiVersion: 1, validFor: { start }, operator: OPERATOR });
  return {
    mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
    caUrls: [service(url)],
    oidcUrls: [service(issuer)],
    rekorTlogUrls: [service(url)],
    rekorTlogConfig: { selector: 'ANY' },
    tsaUrls: [service(`${url}/api/v1/timestamp`)],
    tsaConfig: { selector: 'ANY' },
  };
}

module.exports = { trustedRoot, signingConfig };
