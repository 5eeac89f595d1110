// oidc.js — a local OpenID Connect issuer. It mints ES256-signed ID tokens
// (audience "sigstore", ten minutes) for whatever identity the caller asks
// for, and publishes its discovery document and key set; Fulcio accepts only
// tokens that verify against that key. It vouches for nothing beyond this
// machine: trust it exactly as far as the trusted_root.json this stack writes.
'use strict';
const jose = require('jose');

const LIFETIME = '10m';
// Claims the issuer sets itself; a token request cannot choose them.
const RESERVED = ['iss', 'aud', 'exp', 'iat', 'nbf', 'jti'];

// createIssuer(url) — an issuer whose `iss` is `url` (e.g. http://127.0.0.1:PORT/oidc).
async function createIssuer(url) {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256');
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'local-1', alg: 'ES256', use: 'sig' };
  const keySet = jose.createLocalJWKSet({ keys: [jwk] });
  return {
    url,
    discovery: () => ({
      issuer: url,
      jwks_uri: `${url}/keys`,
      token_endpoint: `${url}/token`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
    }),
    keys: () => ({ keys: [jwk] }),
    // mint({sub, email?, ...CI claims}) — a signed ID token.
    async mint(claims) {
      if (typeof claims.sub !== 'string' || claims.sub === '') throw new Error('a token needs a "sub" claim (a string)');
      const reserved = RESERVED.filter((c) => c in claims);
      if (reserved.length) throw new Error(`the issuer sets ${reserved.join(', ')} itself`);
      return new jose.SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' })
        .setIssuer(url)
        .setAudience('sigstore')
        .setIssuedAt()
        .setExpirationTime(LIFETIME)
        .sign(privateKey);
    },
    // verify(token) — its claims, if this issuer signed it for Sigstore and it
    // has not expired; throws otherwise.
    async verify(token) {
      const { payload } = await jose.jwtVerify(token, keySet, { issuer: url, audience: 'sigstore', algorithms: ['ES256'] });
      return payload;
    },
  };
}

module.exports = { createIssuer };
