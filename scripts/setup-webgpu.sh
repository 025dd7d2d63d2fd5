#!/usr/bin/env bash
# Idempotent setup for executing WGSL on a machine without a GPU (the WGSL tests, the benchmark, CI):
#  - a CPU Vulkan driver Dawn accepts: Mesa ≥ 24 lavapipe from bookworm-backports (Debian 12's own
#    Mesa 22.3 lavapipe is rejected by Dawn: requestAdapter() returns null), and the Vulkan loader;
#  - the npm package `webgpu` (Dawn's Node bindings, the prebuilt dawn.node inside the package), a
#    devDependency, installed only when node_modules lacks it.
# A second run does nothing. See ../shared/notes/wgsl-on-cpu.md for the measurements behind this.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

sudo_cmd=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd="sudo"; else sudo_cmd="missing"; fi
fi
as_root() {
  if [ "$sudo_cmd" = "missing" ]; then
    echo "setup-webgpu: need root (or sudo) to run: $*" >&2
    exit 1
  fi
  $sudo_cmd "$@"
}

mesa_major() {
  local version
  version="$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)"
  echo "${version%%.*}" | sed 's/^[0-9]*://; s/[^0-9].*$//'
}

if command -v dpkg-query >/dev/null 2>&1; then
  major="$(mesa_major)"
  have_loader=1
  dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q "install ok installed" || have_loader=0
  if [ -z "$major" ] || [ "$major" -lt 24 ] || [ "$have_loader" = 0 ]; then
    sources=/etc/apt/sources.list.d/bookworm-backports.sources
    if [ ! -f "$sources" ]; then
      # The same mirror as the main Debian entry.
      uris="$(grep -m1 '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | sed 's/^URIs:[[:space:]]*//' || true)"
      if [ -z "$uris" ]; then
        echo "setup-webgpu: no URIs line in /etc/apt/sources.list.d/debian.sources to reuse for bookworm-backports" >&2
        exit 1
      fi
      echo "setup-webgpu: adding $sources ($uris)" >&2
      printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uris" \
        | as_root tee "$sources" >/dev/null
    fi
    echo "setup-webgpu: apt-get install libvulkan1 and mesa-vulkan-drivers (bookworm-backports)" >&2
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends libvulkan1 >&2
    if [ -z "$major" ] || [ "$major" -lt 24 ]; then
      DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >&2
    fi
    major="$(mesa_major)"
    if [ -z "$major" ] || [ "$major" -lt 24 ]; then
      echo "setup-webgpu: mesa-vulkan-drivers is still older than 24 ($(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo none))" >&2
      exit 1
    fi
  fi
else
  echo "setup-webgpu: not a Debian system; install a Vulkan driver Dawn accepts (Mesa ≥ 24 lavapipe) yourself" >&2
fi

if [ ! -f "$root/node_modules/webgpu/package.json" ]; then
  if [ -n "$(pgrep -fa "npm (install|ci)" || true)" ]; then
    echo "setup-webgpu: another npm install is running; run this script again when it has finished" >&2
    exit 1
  fi
  echo "setup-webgpu: npm install --save-dev webgpu" >&2
  (cd "$root" && npm install --no-audit --no-fund --silent --save-dev "webgpu@^0.6.2" >&2)
fi
