// rekor.js — a Rekor v1 transparency log on a real RFC 6962 Merkle tree.
//
// What clients and verifiers see is what rekor.sigstore.dev sends:
// - entries stored in Rekor's canonical form (hashedrekord keys and
//   certificates re-encoded; a dsse entry's proposed content turned into
//   {envelopeHash, payloadHash, signatures}), as RFC 8785 JSON;
// - entry IDs of 80 hex digits (16-hex tree ID, then the RFC 6962 leaf hash);
// - a signed entry timestamp (SET) over {body, integratedTime, logID,
//   logIndex}, made once when the entry is integrated;
// - inclusion proofs with a signed checkpoint (a signed note), computed at
//   the tree's size when asked, so a proof fetched later differs from the
//   one given at upload;
// - 201 with `ETag` (the entry ID) and `Location` on upload (cosign v3
//   reads the entry by its ETag), 409 with `Location` for a duplicate.
//
// Read API, same paths and JSON as Rekor's:
//   GET  /api/v1/log                            {rootHash, treeSize, signedTreeHead, treeID}
//   GET  /api/v1/log/publicKey                  PEM
//   GET  /api/v1/log/proof?firstSize=M&lastSize=N   {rootHash, hashes}
//   GET  /api/v1/log/entries?logIndex=N         {entryID: LogEntry}
//   GET  /api/v1/log/entries/{entryID}          {entryID: LogEntry} (64- or 80-hex ID)
//   POST /api/v1/log/entries/retrieve           {entryUUIDs?, logIndexes?, entries?} -> [{entryID: LogEntry}]
// Unlike Rekor it does not verify the signatures it logs (verifiers do).
'use strict';
const crypto = require('crypto');
const canonicalize = require('canonicalize');
const mock = require('@sigstore/mock');
const { MerkleTree, leafHash, sha256 } = require('./merkle');
const { json, text } = require('./http');

const MAX_QUERY = 10; // Rekor's limit per retrieve request
const HEX_ID = /^(?:[0-9a-f]{16})?[0-9a-f]{64}$/i;

// createLog(url) — an empty log whose checkpoints are signed as the host of `url`.
function createLog(url) {
  const keyPair = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const publicKey = keyPair.publicKey.export({ format: 'der', type: 'spki' });
  const logID = sha256(publicKey);
  const host = new URL(url).host;
  const treeID = BigInt(crypto.randomInt(1, 2 ** 47));
  const treeIDHex = treeID.toString(16).padStart(16, '0');
  const tree = new MerkleTree();
  const entries = new Map(); // leaf index -> {body, integratedTime, set}
  const byLeaf = new Map(); // leaf hash hex -> leaf index
  const sign = (data) => crypto.sign('sha256', Buffer.from(data), keyPair.privateKey);

  // A signed note: origin, size, root, Rekor's timestamp line, then the
  // signature with the key hint (first 4 bytes of the log ID).
  function checkpoint(size) {
    const note = `${host} - ${treeID}\n${size}\n${tree.root(size).toString('base64')}\nTimestamp: ${BigInt(Date.now()) * 1000000n}\n`;
    return `${note}\n\u2014 ${host} ${Buffer.concat([logID.subarray(0, 4), sign(note)]).toString('base64')}\n`;
  }

  // {entryID: LogEntry} for leaf i, proven at the current size.
  function logEntry(i) {
    const e = entries.get(i);
    const size = tree.size;
    return {
      [treeIDHex + tree.leaves[i].toString('hex')]: {
        body: e.body.toString('base64'),
        integratedTime: e.integratedTime,
        logID: logID.toString('hex'),
        logIndex: i,
        verification: {
          inclusionProof: {
            logIndex: i,
            rootHash: tree.root(size).toString('hex'),
            treeSize: size,
            hashes: tree.inclusion(i, size).map((h) => h.toString('hex')),
            checkpoint: checkpoint(size),
          },
          signedEntryTimestamp: e.set.toString('base64'),
        },
      },
    };
  }
  const entryByLeaf = (hex) => (byLeaf.has(hex.toLowerCase()) ? logEntry(byLeaf.get(hex.toLowerCase())) : null);

  return {
    publicKey,
    logID,
    // log(canonicalEntry) — integrate an entry; the interface @sigstore/mock's rekorHandler calls.
    async log(entry) {
      const body = Buffer.from(canonicalize(entry));
      const integratedTime = Math.floor(Date.now() / 1000);
      const i = tree.append(body);
      const set = sign(canonicalize({ body: body.toString('base64'), integratedTime, logID: logID.toString('hex'), logIndex: i }));
      entries.set(i, { body, integratedTime, set });
      byLeaf.set(tree.leaves[i].toString('hex'), i);
      return logEntry(i);
    },
    async logV2() { throw new Error('this log speaks Rekor v1 only'); },
    entryID: (entry) => {
      const hex = leafHash(Buffer.from(canonicalize(entry))).toString('hex');
      return byLeaf.has(hex) ? treeIDHex + hex : null;
    },
    info: () => ({ rootHash: tree.root().toString('hex'), treeSize: tree.size, signedTreeHead: checkpoint(tree.size), treeID: treeID.toString() }),
    consistency: (first, last) => ({ rootHash: tree.root().toString('hex'), hashes: tree.consistency(first, last).map((h) => h.toString('hex')) }),
    size: () => tree.size,
    entryByIndex: (i) => (entries.has(i) ? logEntry(i) : null),
    // 64 hex: a leaf hash; 80 hex: this tree's ID (or zeros), then a leaf hash.
    entryByID: (id) => {
      if (id.length === 80 && !/^0{16}/.test(id) && id.slice(0, 16).toLowerCase() !== treeIDHex) return null;
      return entryByLeaf(id.slice(-64));
    },
  };
}

// Rekor's canonical form of a proposed entry.
function canonicalEntry(proposed) {
  if (!proposed || typeof proposed !== 'object' || typeof proposed.kind !== 'string') {
    throw new Error('a proposed entry is an object with a "kind"');
  }
  const spec = proposed.spec || {};
  if (proposed.kind === 'hashedrekord') {
    return {
      apiVersion: proposed.apiVersion, kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: spec.data?.hash?.algorithm, value: spec.data?.hash?.value } },
        signature: { content: spec.signature?.content, publicKey: { content: canonicalPEM(spec.signature?.publicKey?.content) } },
      },
    };
  }
  if (proposed.kind === 'dsse' && spec.proposedContent) {
    const envelope = String(spec.proposedContent.envelope);
    const parsed = JSON.parse(envelope);
    const verifiers = (spec.proposedContent.verifiers || []).map(canonicalPEM);
    if (verifiers.length === 0) throw new Error('a dsse entry needs at least one verifier');
    const hex = (b) => crypto.createHash('sha256').update(b).digest('hex');
    return {
      apiVersion: proposed.apiVersion, kind: 'dsse',
      spec: {
        envelopeHash: { algorithm: 'sha256', value: hex(Buffer.from(envelope)) },
        payloadHash: { algorithm: 'sha256', value: hex(Buffer.from(parsed.payload, 'base64')) },
        signatures: parsed.signatures.map((s, i) => ({ signature: s.sig, verifier: verifiers[Math.min(i, verifiers.length - 1)] })),
      },
    };
  }
  return proposed; // other kinds are logged as proposed
}

// base64(PEM) of a key or certificate, re-encoded as Rekor stores it.
function canonicalPEM(b64) {
  if (typeof b64 !== 'string') throw new Error('a public key or certificate is missing');
  const pem = Buffer.from(b64, 'base64').toString('utf8');
  const out = pem.includes('CERTIFICATE')
    ? new crypto.X509Certificate(pem).toString()
    : crypto.createPublicKey(pem).export({ type: 'spki', format: 'pem' });
  return Buffer.from(out).toString('base64');
}

const error = (code, message, headers) => json(code, { code, message }, headers);
const uint = (s) => (/^\d{1,15}$/.test(s ?? '') ? Number(s) : null);
const entryURL = (id) => `/api/v1/log/entries/${id}`;

// The routes, as {'METHOD /path': handler}; `entries/{id}` is matched by prefix in server.js.
function rekorRoutes(log) {
  const create = mock.rekorHandler(log, { strict: true }).fn;
  return {
    'POST /api/v1/log/entries': async (req, body) => {
      let entry;
      try { entry = canonicalEntry(JSON.parse(body.toString('utf8'))); } catch (e) { return error(400, `invalid proposed entry: ${e.message}`); }
      const existing = log.entryID(entry);
      if (existing) return error(409, `an equivalent entry already exists in the transparency log with UUID ${existing}`, { Location: entryURL(existing) });
      const created = await create(JSON.stringify(entry));
      if (created.statusCode !== 201) return error(400, created.response);
      const id = Object.keys(JSON.parse(created.response))[0];
      return { statusCode: 201, body: created.response, headers: { 'Content-Type': 'application/json', ETag: id, Location: entryURL(id) } };
    },
    'GET /api/v1/log': async () => json(200, log.info()),
    'GET /api/v1/log/publicKey': async () => text(200, pemKey(log.publicKey), 'application/x-pem-file'),
    'GET /api/v1/log/proof': async (req, body, url) => {
      const first = url.searchParams.has('firstSize') ? uint(url.searchParams.get('firstSize')) : 1;
      const last = uint(url.searchParams.get('lastSize'));
      if (!first || !last) return error(400, 'firstSize and lastSize must be integers >= 1 (lastSize is required)');
      if (first > last) return error(400, `firstSize(${first}) must be less than or equal to lastSize(${last})`);
      if (last > log.size()) return error(400, `the tree size requested(${last}) was greater than what is currently observable(${log.size()})`);
      return json(200, log.consistency(first, last));
    },
    'GET /api/v1/log/entries': async (req, body, url) => {
      const i = uint(url.searchParams.get('logIndex'));
      if (i === null) return error(400, 'logIndex must be an integer >= 0');
      const entry = log.entryByIndex(i);
      return entry ? json(200, entry) : error(404, `no entry at log index ${i}`);
    },
    'GET /api/v1/log/entries/': async (req, body, url) => {
      const id = url.pathname.slice('/api/v1/log/entries/'.length);
      if (!HEX_ID.test(id)) return error(400, `an entry ID is 64 or 80 hex digits: ${JSON.stringify(id)}`);
      const entry = log.entryByID(id);
      return entry ? json(200, entry) : error(404, `no entry ${id}`);
    },
    'POST /api/v1/log/entries/retrieve': async (req, body) => retrieve(log, body),
  };
}

// SearchLogQuery: entries by ID, by index, or by proposed content; unknown
// ones are left out of the answer.
function retrieve(log, body) {
  let query;
  try { query = JSON.parse(body.toString('utf8')); } catch (e) { return error(400, `the query is not JSON: ${e.message}`); }
  const list = (k) => (Array.isArray(query?.[k]) ? query[k] : []);
  const ids = list('entryUUIDs'), indexes = list('logIndexes'), proposed = list('entries');
  if (ids.length + indexes.length + proposed.length > MAX_QUERY) return error(422, `more than max allowed ${MAX_QUERY} entries in request`);
  const found = [];
  for (const id of ids) {
    if (typeof id !== 'string' || !HEX_ID.test(id)) return error(400, `invalid entryUUID ${JSON.stringify(id)}`);
    found.push(log.entryByID(id));
  }
  for (const entry of proposed) {
    let id;
    try { id = log.entryID(canonicalEntry(entry)); } catch (e) { return error(400, `invalid entry: ${e.message}`); }
    found.push(id && log.entryByID(id));
  }
  for (const i of indexes) {
    if (!Number.isSafeInteger(i) || i < 0) return error(400, `invalid logIndex ${JSON.stringify(i)}`);
    found.push(log.entryByIndex(i));
  }
  return json(200, found.filter(Boolean));
}

const pemKey = (der) => `-----BEGIN PUBLIC KEY-----\n${der.toString('base64').match(/.{1,64}/g).join('\n')}\n-----END PUBLIC KEY-----\n`;

module.exports = { createLog, rekorRoutes, pemKey };
