// merkle.js — an append-only RFC 6962 Merkle tree (section 2.1): tree
// heads, audit paths and consistency proofs at any size up to the current one.
'use strict';
const crypto = require('crypto');

const sha256 = (...parts) => {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);
const leafHash = (data) => sha256(LEAF, data);
// k: the largest power of two smaller than n (n > 1).
const split = (n) => 1 << (31 - Math.clz32(n - 1));

class MerkleTree {
  constructor() {
    this.leaves = []; // leaf hashes
    // Hashes of complete subtrees, by "start/size": they never change as the
    // tree grows, so every root after the first costs O(log n) new hashes.
    this.complete = new Map();
  }

  get size() { return this.leaves.length; }

  // append(data) — the new leaf's index.
  append(data) {
    this.leaves.push(leafHash(data));
    return this.leaves.length - 1;
  }

  // MTH(D[lo:hi])
  hash(lo, hi) {
    const n = hi - lo;
    if (n === 0) return sha256();
    if (n === 1) return this.leaves[lo];
    const key = (n & (n - 1)) === 0 ? `${lo}/${n}` : null;
    if (key && this.complete.has(key)) return this.complete.get(key);
    const k = split(n);
    const h = sha256(NODE, this.hash(lo, lo + k), this.hash(lo + k, hi));
    if (key) this.complete.set(key, h);
    return h;
  }

  root(size = this.size) { return this.hash(0, size); }

  // PATH(m, D[lo:hi]): the audit path of leaf m, leaf to root.
  inclusion(m, size = this.size, lo = 0) {
    const n = size - lo;
    if (n <= 1) return [];
    const k = split(n);
    return m < k
      ? [...this.inclusion(m, lo + k, lo), this.hash(lo + k, size)]
      : [...this.inclusion(m - k, size, lo + k), this.hash(lo, lo + k)];
  }

  // PROOF(m, D[0:size]): D[0:m] is a prefix of D[0:size], 0 < m <= size.
  consistency(m, size = this.size) { return this.subproof(m, 0, size, true); }

  // SUBPROOF(m, D[lo:hi], b)
  subproof(m, lo, hi, b) {
    const n = hi - lo;
    if (m === n) return b ? [] : [this.hash(lo, hi)];
    const k = split(n);
    return m <= k
      ? [...this.subproof(m, lo, lo + k, b), this.hash(lo + k, hi)]
      : [...this.subproof(m - k, lo + k, hi, false), this.hash(lo, lo + k)];
  }
}

module.exports = { MerkleTree, leafHash, sha256 };
