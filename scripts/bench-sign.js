#!/usr/bin/env node
// bench-sign.js LAB_DIR LAB_URL TRUST_DIR ADDR < images.json
//
// Keyless-sign every image scripts/bench-images.py pushed (its JSON on
// stdin; extras too), in one process, JOBS (default 8) at a time, with the
// sigstore-lab at LAB_URL: cosign's legacy form, a `sha256-<hex>.sig` tag
// whose simple-signing layer carries the signature, certificate, chain and
// Rekor SET annotations — what the lab's oci-sign.js --mode legacy writes,
// without a node process per image (1,000 images sign in seconds, not
// minutes). Prints the number signed.
'use strict';
const path = require('path');
const fs = require('fs');
const [labDir, url, trustDir, addr] = process.argv.slice(2);
const lab = (m) => require(path.join(labDir, 'node_modules', m));
const sigstore = lab('sigstore');
const { RegistryClient } = require(path.join(labDir, 'node_modules/@sigstore/oci/dist/registry'));
const { fakeJWT } = require(path.join(labDir, 'sign.js'));

const identity = 'https://github.com/example/repo/.github/workflows/release.yml@refs/heads/main';
const issuer = 'https://token.actions.githubusercontent.com';
const toPEM = (b64der) => `-----BEGIN CERTIFICATE-----\n${b64der.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`;
const trustedRoot = JSON.parse(fs.readFileSync(path.join(trustDir, 'trusted_root.json')));
const chain = trustedRoot.certificateAuthorities[0].certChain.certificates.map((c) => toPEM(c.rawBytes)).join('');

async function sign(repo, digest) {
  const repoRef = `${addr}/${repo}`;
  const payload = Buffer.from(JSON.stringify({
    critical: { identity: { 'docker-reference': repoRef }, image: { 'docker-manifest-digest': digest },
                type: 'cosign container image signature' },
    optional: null,
  }));
  const bundle = await sigstore.sign(payload, { fulcioURL: url, rekorURL: url, identityToken: fakeJWT({ iss: issuer, sub: identity }) });
  const vm = bundle.verificationMaterial;
  const leaf = vm.certificate?.rawBytes ?? vm.x509CertificateChain.certificates[0].rawBytes;
  const tle = vm.tlogEntries[0];
  const annotations = {
    'dev.cosignproject.cosign/signature': bundle.messageSignature.signature,
    'dev.sigstore.cosign/certificate': toPEM(leaf),
    'dev.sigstore.cosign/chain': chain,
    'dev.sigstore.cosign/bundle': JSON.stringify({
      SignedEntryTimestamp: tle.inclusionPromise.signedEntryTimestamp,
      Payload: { body: tle.canonicalizedBody, integratedTime: Number(tle.integratedTime),
                 logIndex: Number(tle.logIndex), logID: Buffer.from(tle.logId.keyId, 'base64').toString('hex') },
    }),
  };
  const client = new RegistryClient(addr, repo);
  const layer = await client.uploadBlob(payload);
  const config = Buffer.from(JSON.stringify({ architecture: '', created: '0001-01-01T00:00:00Z',
    history: [{ created: '0001-01-01T00:00:00Z' }], os: '', rootfs: { type: 'layers', diff_ids: [layer.digest] }, config: {} }));
  const cfg = await client.uploadBlob(config);
  const manifest = {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: cfg.size, digest: cfg.digest },
    layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', size: layer.size, digest: layer.digest, annotations }],
  };
  await client.uploadManifest(JSON.stringify(manifest), {
    mediaType: 'application/vnd.oci.image.manifest.v1+json', reference: digest.replace(':', '-') + '.sig' });
}

async function main() {
  const input = JSON.parse(fs.readFileSync(0));
  const todo = [...input.images, ...input.extras];
  const jobs = Number(process.env.JOBS || 8);
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const image = todo[next++];
      await sign(image.repository, image.digest);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  console.log(todo.length);
}
main().catch((e) => { console.error(e); process.exit(1); });
