#!/usr/bin/env bash
# test.sh — install what the tests need and run airlock's whole test suite.
# This is the README's test command and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

# The disconnected side must build without the connected (network-fetching)
# code. Its own target directory keeps the default build intact;
# tests/disconnected.rs runs that binary (and finds it built).
cargo build --locked --no-default-features --bin airlock --target-dir target/disconnected
cargo test --locked --workspace
