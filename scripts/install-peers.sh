#!/usr/bin/env bash
# install-peers.sh — the field's own tools, which airlock's interoperability
# tests run as real peers, built from the Go module proxy at pinned versions.
#
#   scripts/install-peers.sh            # build what is missing; quiet when all present
#   scripts/install-peers.sh NAME...    # only these (cosign crane oras olareg tester kyverno osv-scanner)
#   scripts/install-peers.sh --bin-dir  # print the directory holding the peers
#
# Each peer lands in $AIRLOCK_PEERS/<name>@<key>/ (key = version, plus a hash
# of the wrapper module for the wrapped ones), so a version bump builds anew
# beside the old one, and $AIRLOCK_PEERS/bin/<name> links to the pinned build.
# GOPATH, the module cache and the build cache live under $AIRLOCK_PEERS too and
# are reused between runs. Default AIRLOCK_PEERS: ~/.cache/airlock-peers.
#
# policy-controller and kyverno have replace directives in their go.mod, which
# `go install MODULE@VERSION` refuses, and the proxy refuses olareg's version
# list, which `go install` reads: these three build from wrapper modules in
# scripts/peers/<name>/ (require the upstream module, copy its replaces, go.sum
# pinned) — still the upstream code from the module proxy.
#
# First run on a fresh 2-core machine: about 12 minutes and 13 GB (docs/interop.md).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
root=${AIRLOCK_PEERS:-$HOME/.cache/airlock-peers}
if [ "${1:-}" = --bin-dir ]; then echo "$root/bin"; exit 0; fi
peers=(cosign crane oras olareg tester kyverno osv-scanner)
for name in "$@"; do
    [[ " ${peers[*]} " == *" $name "* ]] || { echo "install-peers.sh: unknown peer $name (known: ${peers[*]})" >&2; exit 2; }
done
# wanted NAME — true when NAME was asked for (or nothing was named).
wanted() { [ $# -gt 0 ] && { [ ${#requested[@]} -eq 0 ] || [[ " ${requested[*]} " == *" $1 "* ]]; }; }
requested=("$@")

command -v go >/dev/null || { echo "install-peers.sh: the go command is missing (Go >= 1.26.7 is needed)" >&2; exit 2; }
export GOPATH=$root/go GOMODCACHE=$root/go/pkg/mod GOCACHE=$root/go-build
export GOFLAGS=-buildvcs=false CGO_ENABLED=0
mkdir -p "$root/bin"

# build NAME KEY TOOLCHAIN CMD... — run CMD with GOBIN set to a fresh directory,
# then move it into place, so an interrupted build never looks installed.
build() {
    local name=$1 key=$2 toolchain=$3; shift 3
    local dest=$root/$name@$key
    if [ ! -x "$dest/$name" ]; then
        local tmp started
        tmp=$(mktemp -d "$root/.build-$name.XXXXXX") && chmod 755 "$tmp"
        started=$(date +%s)
        echo "install-peers.sh: building $name $key (a few minutes the first time)" >&2
        if ! GOTOOLCHAIN=$toolchain GOBIN=$tmp "$@" >"$tmp.log" 2>&1; then
            cat "$tmp.log" >&2; rm -rf "$tmp" "$tmp.log"
            echo "install-peers.sh: building $name $key failed" >&2; exit 1
        fi
        rm -f "$tmp.log"
        rm -rf "$dest"
        # A concurrent run may have won the race: keep its build.
        mv -T "$tmp" "$dest" 2>/dev/null || rm -rf "$tmp"
        echo "install-peers.sh: built $name $key in $(( $(date +%s) - started )) s" >&2
    fi
    ln -sfn "../$name@$key/$name" "$root/bin/$name"
}

# go_install NAME VERSION PACKAGE [TOOLCHAIN] — a plain `go install PACKAGE@VERSION`.
go_install() {
    local name=$1 version=$2 pkg=$3 toolchain=${4:-local}
    wanted "$name" || return 0
    build "$name" "$version" "$toolchain" go install "$pkg@$version"
}

# wrapped NAME VERSION PACKAGE — build PACKAGE from scripts/peers/NAME's module.
wrapped() {
    local name=$1 version=$2 pkg=$3 dir=$repo/scripts/peers/$1 sum
    wanted "$name" || return 0
    sum=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-12)
    # `go build -o DIR/NAME` inside the wrapper; GOBIN is where build() looks.
    build "$name" "$version-$sum" local sh -c 'cd "$1" && go build -mod=readonly -o "$GOBIN/$2" "$3"' \
        sh "$dir" "$name" "$pkg"
}

go_install cosign      v3.1.3  github.com/sigstore/cosign/v3/cmd/cosign
go_install crane       v0.22.1 github.com/google/go-containerregistry/cmd/crane
go_install oras        v1.3.6  oras.land/oras/cmd/oras
# A registry with the OCI 1.1 referrers API (Debian's distribution 2.8 has none).
wrapped    olareg      v0.1.2  github.com/olareg/olareg/cmd/olareg
wrapped    tester      v0.13.1 github.com/sigstore/policy-controller/cmd/tester
wrapped    kyverno     v1.19.1 github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno
# osv-scanner v2.6.0 needs Go 1.27; the go command fetches that toolchain from
# the module proxy for this one build.
go_install osv-scanner v2.6.0  github.com/google/osv-scanner/v2/cmd/osv-scanner go1.27.3
