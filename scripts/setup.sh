#!/usr/bin/env bash
# Installs everything Convene needs on a fresh Debian bookworm machine (run as root, or
# with sudo available), then the npm dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_node() {
  command -v node >/dev/null 2>&1 && node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'
}

if ! need_node; then
  echo "setup: Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# System packages: the native core's build and its checks (valgrind, clang for libFuzzer),
# chromium for the browser tests (driven by playwright-core: no browser download).
APT_PACKAGES=(build-essential cmake pkg-config libwebsockets-dev libwebsockets-evlib-ev libev-dev libjansson-dev libopus-dev libspeexdsp-dev libvpx-dev libyuv-dev chromium valgrind clang libclang-rt-14-dev redis-server)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
npm run build
