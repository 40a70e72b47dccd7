#!/usr/bin/env bash
# Builds the Kubernetes test peers (kube-apiserver, kube-controller-manager and the etcd they pin)
# from the Go module proxy at one pinned release, and kine (the benchmark's PostgreSQL peer), into
# a cache folder outside the clone keyed by the version, and prints that folder. A second run
# finds the binaries and only prints it.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every k8s.io staging module with
# ./staging/..., and a dependent ignores a dependency's replaces. So a throwaway module of ours
# requires it and replaces each staging module it lists with the published v0.N.M of that module.
set -euo pipefail

KUBE_VERSION="${ARK_KUBE_VERSION:-v1.35.4}"
KINE_VERSION="${ARK_KINE_VERSION:-v0.17.5}"
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"
CACHE_ROOT="${ARK_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ark-effect/peers}"
OUT="$CACHE_ROOT/kubernetes-$KUBE_VERSION"
BINARIES=(kube-apiserver kube-controller-manager etcd)

kube_built() { for b in "${BINARIES[@]}"; do [[ -x "$OUT/$b" ]] || return 1; done; }
kine_built() { [[ -x "$OUT/kine" && "$(cat "$OUT/kine.version" 2>/dev/null)" == "$KINE_VERSION" ]]; }
complete() { kube_built && kine_built; }
if complete; then echo "$OUT"; exit 0; fi

command -v go >/dev/null || { echo "kube-peers: Go is needed to build kube-apiserver (https://go.dev/dl)" >&2; exit 1; }
mkdir -p "$CACHE_ROOT"
# One build at a time per cache (test workers may ask together); the others wait and reuse it.
exec 9>"$CACHE_ROOT/.lock-$KUBE_VERSION"
flock 9
if complete; then echo "$OUT"; exit 0; fi

WORK="$(mktemp -d "$CACHE_ROOT/.build-$KUBE_VERSION-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export CGO_ENABLED=0

if ! kube_built; then
  echo "kube-peers: building kubernetes $KUBE_VERSION into $OUT (once; takes minutes)" >&2
  mkdir -p "$WORK/kube" && cd "$WORK/kube"
  GOMOD="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  {
    echo "module ark-effect.test/kube-peers"
    echo
    echo "go $(sed -n 's/^go \([0-9.]*\).*/\1/p' "$GOMOD")"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$STAGING_VERSION"'#p' "$GOMOD"
    echo ")"
  } > go.mod
  cat > tools.go <<'GO'
//go:build tools

package peers

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
GO
  # The etcd server at the version kubernetes itself requires (go.etcd.io/etcd/server/v3 in its go.mod).
  go get "go.etcd.io/etcd/server/v3@$(sed -n 's#^[[:space:]]*go.etcd.io/etcd/server/v3 \(v[^ ]*\).*#\1#p' "$GOMOD")" >&2
  go mod tidy >&2
  mkdir -p "$WORK/bin"
  go build -trimpath -ldflags "-s -w" -o "$WORK/bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
  go build -trimpath -ldflags "-s -w" -o "$WORK/bin/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager >&2
  go build -trimpath -ldflags "-s -w" -o "$WORK/bin/etcd" go.etcd.io/etcd/server/v3 >&2
  rm -rf "$OUT"
  mv "$WORK/bin" "$OUT"
fi

if ! kine_built; then
  # kine's go.mod has no replaces, so `go install` builds it as published; no cgo: PostgreSQL only.
  echo "kube-peers: building kine $KINE_VERSION into $OUT" >&2
  GOBIN="$WORK/kine" go install -trimpath -ldflags "-s -w" "github.com/k3s-io/kine@$KINE_VERSION" >&2
  mv "$WORK/kine/kine" "$OUT/kine"
  echo "$KINE_VERSION" > "$OUT/kine.version"
fi
echo "$OUT"
