// tsa.js — an RFC 3161 timestamp authority: @sigstore/mock's TSA (root and
// signing certificate, SignedData with ESSCertIDv2) behind POST
// /api/v1/timestamp, taking both requests clients send: DER TimeStampReq
// (`application/timestamp-query`: sigstore-go, so cosign, and
// sigstore-python) and sigstore-js's JSON.
'use strict';
const crypto = require('crypto');
const pkijs = require('pkijs');
const mock = require('@sigstore/mock');
const { json, text } = require('./http');

const SIGSTORE_TSA_POLICY = '1.3.6.1.4.1.57264.2';

async function createTSA() {
  // genTime in whole seconds: pkijs drops trailing zeros from the fraction
  // (valid DER), and sigstore-js accepts only three fraction digits.
  const clock = new Date();
  const tsa = await mock.initializeTSA(crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }), clock);
  // RFC 3161 2.4.2: the reply carries the request's nonce exactly, and none
  // when the request had none. The mock writes a JS number: keep that for
  // sigstore-js's JSON requests, pass a DER request's INTEGER through.
  const tstInfo = tsa.tstInfo.bind(tsa);
  tsa.tstInfo = (req) => {
    if (typeof req.nonce === 'number') return tstInfo(req);
    const info = tstInfo({ ...req, nonce: 0 });
    if (req.nonce) info.nonce = req.nonce;
    else delete info.nonce;
    return info;
  };
  const stamp = (req) => {
    clock.setTime(Math.floor(Date.now() / 1000) * 1000);
    return tsa.timestamp(req);
  };
  return {
    rootCertificate: tsa.rootCertificate,
    signingCertificate: tsa.intCertificate,
    stamp,
    jsonHandler: mock.tsaHandler({ timestamp: stamp }, { strict: true }).fn,
  };
}

// A DER TimeStampReq in the form the mock TSA reads.
function parseRequest(der) {
  const req = pkijs.TimeStampReq.fromBER(new Uint8Array(der).buffer);
  return {
    artifactHash: Buffer.from(req.messageImprint.hashedMessage.valueBlock.valueHexView),
    hashAlgorithmOID: req.messageImprint.hashAlgorithm.algorithmId,
    nonce: req.nonce,
    policyOID: req.reqPolicy || SIGSTORE_TSA_POLICY,
    certReq: req.certReq ?? false,
  };
}

function tsaRoutes(tsa) {
  const pem = (der) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`;
  return {
    'POST /api/v1/timestamp': async (req, body) => {
      if (!(req.headers['content-type'] || '').includes('timestamp-query')) {
        const r = await tsa.jsonHandler(body.toString('utf8'));
        return { statusCode: r.statusCode, body: r.response, headers: { 'Content-Type': r.contentType || 'text/plain' } };
      }
      let request;
      try { request = parseRequest(body); } catch (e) { return json(400, { code: 400, message: `not a DER TimeStampReq: ${e.message}` }); }
      return text(201, await tsa.stamp(request), 'application/timestamp-reply');
    },
    'GET /api/v1/timestamp/certchain': async () =>
      text(200, pem(tsa.signingCertificate) + pem(tsa.rootCertificate), 'application/pem-certificate-chain'),
  };
}

module.exports = { createTSA, tsaRoutes };
