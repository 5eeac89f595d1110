#!/usr/bin/env node
// server.js — airlock's local keyless Sigstore, on one 127.0.0.1 port:
//
//   Fulcio   POST /api/v2/signingCert, GET /api/v2/trustBundle      (lib/fulcio.js)
//   Rekor v1 POST /api/v1/log/entries and the read API              (lib/rekor.js)
//   TSA      POST /api/v1/timestamp, GET /api/v1/timestamp/certchain (lib/tsa.js)
//   OIDC     GET  /oidc/.well-known/openid-configuration, /oidc/keys,
//            POST /oidc/token {"sub": …, other claims} -> {"id_token": …}  (lib/oidc.js)
//
// usage: node server.js --out DIR [--port N]
// Writes DIR/trusted_root.json and DIR/signing_config.json for its URLs, then
// prints one JSON line {"ready":true,"url":…,"issuer":…,"out":…,"pid":…}.
// Every key lives in memory only: a restart is a new instance. SIGTERM or
// SIGINT stops it.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const crypto = require('crypto');
const { createIssuer } = require('./lib/oidc');
const { createCA, signingCertRoute, trustBundleRoute } = require('./lib/fulcio');
const { createLog, rekorRoutes } = require('./lib/rekor');
const { createTSA, tsaRoutes } = require('./lib/tsa');
const { trustedRoot, signingConfig } = require('./lib/trust');
const { json } = require('./lib/http');

const MAX_BODY = 16 * 1024 * 1024; // a DSSE envelope with a large SBOM fits

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  if (i + 1 >= process.argv.length) throw new Error(`--${name} needs a value`);
  return process.argv[i + 1];
}

function oidcRoutes(issuer) {
  return {
    'GET /oidc/.well-known/openid-configuration': async () => json(200, issuer.discovery()),
    'GET /oidc/keys': async () => json(200, issuer.keys()),
    'POST /oidc/token': async (req, body) => {
      try {
        return json(200, { id_token: await issuer.mint(JSON.parse(body.toString('utf8'))), token_type: 'Bearer', expires_in: 600 });
      } catch (e) {
        return json(400, { error: 'invalid_request', error_description: e.message });
      }
    },
  };
}

// The handler for a request: exact "METHOD /path" (a trailing slash
// ignored), else Rekor's GET /api/v1/log/entries/{id}.
function route(routes, method, pathname) {
  const p = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  const exact = routes[`${method} ${p}`];
  if (exact) return exact;
  if (method === 'GET' && p.startsWith('/api/v1/log/entries/') && p !== '/api/v1/log/entries/retrieve') {
    return routes['GET /api/v1/log/entries/'];
  }
  const known = Object.keys(routes).some((k) => k.split(' ')[1] === p);
  return async () => (known ? json(405, { code: 405, message: `${method} is not allowed on ${p}` }) : json(404, { code: 404, message: `no such path ${p}` }));
}

function serve(server, routes, base) {
  server.on('request', (req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) { res.writeHead(413).end(); req.destroy(); } else chunks.push(c);
    });
    req.on('end', async () => {
      if (size > MAX_BODY) return;
      const url = new URL(req.url, base);
      let answer;
      try {
        answer = await route(routes, req.method, url.pathname)(req, Buffer.concat(chunks), url);
      } catch (e) {
        process.stderr.write(`sigstore-local: ${req.method} ${url.pathname}: ${e.stack}\n`);
        answer = json(500, { code: 500, message: e.message });
      }
      res.writeHead(answer.statusCode, answer.headers);
      res.end(answer.body);
    });
  });
}

async function main() {
  const out = option('out');
  if (!out) throw new Error('usage: node server.js --out DIR [--port N]');
  const server = http.createServer();
  await new Promise((resolve, reject) => server.once('error', reject).listen(Number(option('port', '0')), '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  const start = new Date(Date.now() - 60e3).toISOString();

  const issuer = await createIssuer(`${url}/oidc`);
  const ca = await createCA({ ctKeyPair: crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) });
  const log = createLog(url);
  const tsa = await createTSA();
  serve(server, {
    'POST /api/v2/signingCert': signingCertRoute(ca, issuer),
    'GET /api/v2/trustBundle': trustBundleRoute(ca),
    ...rekorRoutes(log),
    ...tsaRoutes(tsa),
    ...oidcRoutes(issuer),
  }, url);

  fs.mkdirSync(out, { recursive: true });
  const write = (name, value) => fs.writeFileSync(path.join(out, name), JSON.stringify(value, null, 2) + '\n');
  write('trusted_root.json', trustedRoot({ url, ca, log, tsa, start }));
  write('signing_config.json', signingConfig({ url, issuer: issuer.url, start }));

  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(JSON.stringify({ ready: true, url, issuer: issuer.url, out: path.resolve(out), pid: process.pid }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`sigstore-local: ${e.stack || e}\n`);
  process.exit(1);
});
