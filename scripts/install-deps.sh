#!/usr/bin/env bash
# Installs what the tests and the notebook need beyond Go itself, at pinned
# versions: Jupyter's headless notebook runner and iproute2 from Debian
# packages, and the GoNB Go kernel with goimports (which GoNB runs on every
# cell).
# scripts/test.sh calls it; scripts/notebook.sh too. Idempotent: when
# everything is installed at the pinned versions it only checks (a second
# or so). Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

GONB_VERSION=v0.11.5        # github.com/janpfeifer/gonb
XTOOLS_VERSION=v0.52.0      # golang.org/x/tools (goimports)
# iproute2: `ip netns list` and `ip -n NS ...` to look at testbeds (lvslab
# itself talks netlink and needs no tool).
APT_PACKAGES=(jupyter-nbconvert jupyter-client python3-nbclient iproute2)

GOBIN_DIR="$(go env GOPATH)/bin"
export PATH="$GOBIN_DIR:$PATH"
log() { printf 'install-deps: %s\n' "$*"; }

# 1. Debian packages: jupyter nbconvert (headless execution) and
#    jupyter-client (kernel specs). One apt-get update, only if needed.
missing=()
for p in "${APT_PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if ((${#missing[@]})); then
	SUDO=
	if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
	log "apt-get install ${missing[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# has_module BINARY MODULE VERSION: the Go binary was built with MODULE at VERSION.
has_module() {
	[ -x "$1" ] && go version -m "$1" 2>/dev/null | grep -Eq "^[[:space:]]+(mod|dep)[[:space:]]+$2[[:space:]]+$3([[:space:]]|$)"
}

# 2. goimports, pinned.
if ! has_module "$GOBIN_DIR/goimports" golang.org/x/tools "$XTOOLS_VERSION"; then
	log "go install golang.org/x/tools/cmd/goimports@$XTOOLS_VERSION"
	GOFLAGS= go install "golang.org/x/tools/cmd/goimports@$XTOOLS_VERSION"
fi

# 3. GoNB, pinned. "go install module@version" also asks the module proxy
#    for the module's version list (to check for deprecation), which the
#    proxy refuses for this module; building from a throw-away module that
#    requires the exact version avoids that query and installs the same code.
if ! has_module "$GOBIN_DIR/gonb" github.com/janpfeifer/gonb "$GONB_VERSION"; then
	log "installing github.com/janpfeifer/gonb@$GONB_VERSION"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	cat >"$tmp/go.mod" <<EOM
module lvslab.local/gonb-install

go 1.26

require github.com/janpfeifer/gonb $GONB_VERSION
EOM
	(cd "$tmp" && GOFLAGS=-mod=mod GOBIN="$GOBIN_DIR" go install github.com/janpfeifer/gonb)
	rm -f "$(jupyter --data-dir 2>/dev/null || echo "$HOME/.local/share/jupyter")/kernels/gonb/kernel.json"
fi

# 4. The Jupyter kernel spec for GoNB. --force_deps: gopls (auto-completion
#    in an interactive Jupyter) is optional and not installed here; for it,
#    go install golang.org/x/tools/gopls@v0.23.0.
#    The spec's first argument is the kernel binary (GoNB copies itself
#    next to the spec when installed from under /tmp).
kernel_json="$(jupyter --data-dir)/kernels/gonb/kernel.json"
kernel_bin=$(sed -n 's/^{"argv":\["\([^"]*\)".*/\1/p' "$kernel_json" 2>/dev/null || true)
if ! has_module "$kernel_bin" github.com/janpfeifer/gonb "$GONB_VERSION"; then
	log "gonb --install"
	"$GOBIN_DIR/gonb" --install --force_deps >/dev/null 2>&1 || "$GOBIN_DIR/gonb" --install --force_deps
fi
