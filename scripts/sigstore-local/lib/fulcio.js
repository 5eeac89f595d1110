// fulcio.js — a Fulcio-like certificate authority and its v2 API.
//
// Like production Fulcio: a P-384 root and intermediate, ten-minute leaf
// certificates with a random serial, the code-signing EKU, the identity as an
// rfc822Name (email) or URI SAN, the OIDC issuer and CI claims as Fulcio's
// extensions, and an embedded SCT from a CT log (precertificate flow,
// RFC 6962 3.2). POST /api/v2/signingCert verifies the ID token against the
// local issuer, checks proof of possession of the key, and answers 200 with
// the chain leaf, intermediate, root (sigstore-go, so cosign v3, refuses any
// other status).
//
// The request and claims handling is @sigstore/mock's fulcioHandler; this
// module supplies the CA it issues from and what a real Fulcio checks first.
'use strict';
// @peculiar/x509's dependency injection needs the Reflect metadata polyfill first.
require('reflect-metadata');
const crypto = require('crypto');
const x509 = require('@peculiar/x509');
const asn1js = require('asn1js');
const mock = require('@sigstore/mock');
const { json } = require('./http');

x509.cryptoProvider.set(crypto.webcrypto);
const subtle = crypto.webcrypto.subtle;
const MINUTE = 60e3;
const YEAR = 365 * 24 * 60 * MINUTE;
const ECDSA_P384 = { name: 'ECDSA', namedCurve: 'P-384' };
const SIGN_SHA384 = { name: 'ECDSA', hash: 'SHA-384' };
const SCT_LIST_OID = '1.3.6.1.4.1.11129.2.4.2';

// A positive 16-byte serial, hex.
const serial = () => {
  const b = crypto.randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b.toString('hex');
};
const pem = (der) => new x509.X509Certificate(der).toString('pem') + '\n';

// createCA({ ctKeyPair }) — a root, an intermediate and a CT log (node KeyObject pair).
async function createCA({ ctKeyPair }) {
  const rootKeys = await subtle.generateKey(ECDSA_P384, false, ['sign', 'verify']);
  const intKeys = await subtle.generateKey(ECDSA_P384, false, ['sign', 'verify']);
  const notBefore = new Date(Date.now() - 5 * MINUTE);
  const notAfter = new Date(notBefore.getTime() + 10 * YEAR);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: 'O=airlock local Sigstore, CN=fulcio root', notBefore, notAfter,
    signingAlgorithm: SIGN_SHA384, keys: rootKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const intermediate = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: 'O=airlock local Sigstore, CN=fulcio intermediate', issuer: root.subject,
    notBefore, notAfter, signingAlgorithm: SIGN_SHA384, publicKey: intKeys.publicKey, signingKey: rootKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
      await x509.SubjectKeyIdentifierExtension.create(intKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const ctLog = await mock.initializeCTLog(ctKeyPair);
  // RFC 6962: the SCT signs the issuer's key hash with the precertificate TBS.
  const issuerKeyHash = await subtle.digest('SHA-256', await subtle.exportKey('spki', intKeys.publicKey));

  // issueCertificate({publicKey (SPKI DER), subjectAltName, extensions}) — the
  // interface @sigstore/mock's fulcioHandler calls.
  async function issueCertificate({ publicKey, subjectAltName, extensions = [] }) {
    const notBefore = new Date();
    const isEmail = /^[^@\s/:]+@[^@\s/]+$/.test(subjectAltName);
    const tbs = {
      serialNumber: serial(), subject: '', issuer: intermediate.subject,
      notBefore, notAfter: new Date(notBefore.getTime() + 10 * MINUTE),
      signingAlgorithm: SIGN_SHA384, signingKey: intKeys.privateKey,
      publicKey: await new x509.PublicKey(publicKey).export(),
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
        await x509.SubjectKeyIdentifierExtension.create(publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(intKeys.publicKey),
        new x509.SubjectAlternativeNameExtension([{ type: isEmail ? 'email' : 'url', value: subjectAltName }], true),
        // Fulcio's claim extensions: the v1 ones hold raw strings, the rest DER UTF8String.
        ...extensions.map((e) => new x509.Extension(e.oid, false,
          e.legacy ? Buffer.from(e.value) : new asn1js.Utf8String({ value: e.value }).toBER(false))),
      ],
    };
    // The precertificate is the same TBS without the SCT list; the final
    // certificate appends the list, so removing it gives back what was logged.
    const precert = await x509.X509CertificateGenerator.create(tbs);
    const sct = Buffer.from(await ctLog.log(precert.rawData, issuerKeyHash)); // u16 length + SCT
    const list = Buffer.concat([u16(sct.length), sct]);
    tbs.extensions.push(new x509.Extension(SCT_LIST_OID, false, new asn1js.OctetString({ valueHex: list }).toBER(false)));
    const cert = await x509.X509CertificateGenerator.create(tbs);
    // A Buffer over the whole ArrayBuffer: the mock handler PEM-encodes `.buffer`.
    return Buffer.from(cert.rawData);
  }

  return {
    rootCertificate: Buffer.from(root.rawData),
    intermediateCertificate: Buffer.from(intermediate.rawData),
    ctLog: { publicKey: ctLog.publicKey, logID: ctLog.logID },
    issueCertificate,
  };
}
const u16 = (n) => Buffer.from([n >> 8, n & 0xff]);

// signingCertRoute(ca, issuer) — POST /api/v2/signingCert.
function signingCertRoute(ca, issuer) {
  const handlerCA = { rootCertificate: ca.intermediateCertificate, issueCertificate: ca.issueCertificate };
  const bySub = mock.fulcioHandler(handlerCA, { strict: true, subjectClaim: 'sub' }).fn;
  const byEmail = mock.fulcioHandler(handlerCA, { strict: true, subjectClaim: 'email' }).fn;
  const chain = [ca.intermediateCertificate, ca.rootCertificate].map(pem);
  return async (req, body) => {
    let request;
    try { request = JSON.parse(body.toString('utf8')); } catch (e) { return error(400, `the request is not JSON: ${e.message}`); }
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization || '');
    const token = bearer ? bearer[1] : request?.credentials?.oidcIdentityToken;
    if (!token) return error(401, 'no identity token (Authorization: Bearer, or credentials.oidcIdentityToken)');
    let claims;
    try { claims = await issuer.verify(token); } catch (e) { return error(401, `the identity token does not verify against ${issuer.url}: ${e.message}`); }
    // An email identity only when the issuer verified the address.
    const subject = claims.email && claims.email_verified === true ? claims.email : claims.sub;
    const normalized = await normalizeRequest(request, token, subject);
    if (normalized.error) return error(400, normalized.error);
    const issued = await (subject === claims.sub ? bySub : byEmail)(JSON.stringify(normalized.request));
    if (issued.statusCode !== 201) return error(400, issued.response);
    const leaf = JSON.parse(issued.response).signedCertificateEmbeddedSct.chain.certificates[0];
    return json(200, { signedCertificateEmbeddedSct: { chain: { certificates: [leaf, ...chain] } } });
  };
}

// The request in the form the mock handler reads (PEM CSR, token in the
// body), after the checks Fulcio makes: a CSR's own signature, or a
// signature over the token's subject with the public key (proof of possession).
async function normalizeRequest(request, token, subject) {
  const out = { credentials: { oidcIdentityToken: token } };
  if (typeof request?.certificateSigningRequest === 'string') {
    let csrPem = request.certificateSigningRequest;
    if (!csrPem.startsWith('-----')) csrPem = Buffer.from(csrPem, 'base64').toString('utf8'); // base64(PEM), as sigstore-python sends it
    try {
      const csr = new x509.Pkcs10CertificateRequest(csrPem);
      if (!(await csr.verify())) return { error: 'the CSR signature does not verify' };
    } catch (e) { return { error: `the CSR does not parse: ${e.message}` }; }
    out.certificateSigningRequest = csrPem;
    return { request: out };
  }
  const key = request?.publicKeyRequest?.publicKey?.content;
  const proof = request?.publicKeyRequest?.proofOfPossession;
  if (typeof key !== 'string' || typeof proof !== 'string') {
    return { error: 'publicKeyRequest needs publicKey.content and proofOfPossession, or send certificateSigningRequest' };
  }
  try {
    const publicKey = crypto.createPublicKey(key);
    if (!crypto.verify(popDigest(publicKey), Buffer.from(subject), publicKey, Buffer.from(proof, 'base64'))) {
      return { error: `proofOfPossession is not a signature over the token's subject ${JSON.stringify(subject)}` };
    }
  } catch (e) { return { error: `publicKeyRequest: ${e.message}` }; }
  out.publicKeyRequest = { publicKey: { content: key } };
  return { request: out };
}

// Fulcio's gRPC-gateway error body (16 unauthenticated, 3 invalid argument).
const error = (statusCode, message) => json(statusCode, { code: statusCode === 401 ? 16 : 3, message });

// The digest a key's proof of possession is made with, as sigstore-go signs:
// none for Ed25519, SHA-384 for P-384, SHA-256 otherwise.
function popDigest(key) {
  if (key.asymmetricKeyType === 'ed25519') return null;
  return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'sha384' : 'sha256';
}

// GET /api/v2/trustBundle — the CA chains, as Fulcio serves them.
function trustBundleRoute(ca) {
  const chain = [ca.intermediateCertificate, ca.rootCertificate].map(pem);
  return async () => json(200, { chains: [{ certificates: chain }] });
}

module.exports = { createCA, signingCertRoute, trustBundleRoute };
