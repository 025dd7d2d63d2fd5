#!/usr/bin/env bash
# Idempotent setup for executing examples/*.ipynb headlessly (the notebook test, CI, a fresh clone):
#  - Jupyter's nbconvert/nbclient from Debian packages (PyPI is not needed),
#  - the Deno Jupyter kernel from npm, installed into .notebook/ (not the project's lock file: the
#    deno package's per-platform optional binaries make a lock file made here fail `npm ci` elsewhere),
#  - Debian's Chromium, which scripts/render-svg.mjs drives through playwright-core,
#  - a kernelspec "gradgen-deno" under .notebook/jupyter (put it on JUPYTER_PATH).
# Usage: bash scripts/setup-notebooks.sh   (prints the JUPYTER_PATH to export)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deno_version="2.9.6"
cache="$root/.notebook"

need_apt=()
command -v jupyter-nbconvert >/dev/null 2>&1 || need_apt+=(jupyter-nbconvert)
/usr/bin/python3 -c "import nbclient" >/dev/null 2>&1 || need_apt+=(python3-nbclient)
/usr/bin/python3 -c "import jupyter_client" >/dev/null 2>&1 || need_apt+=(jupyter-client)
command -v jupyter >/dev/null 2>&1 || need_apt+=(jupyter-core)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" != "0" ] && ! command -v sudo >/dev/null 2>&1; then
    echo "setup-notebooks: need root (or sudo) to apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  sudo_cmd=""
  [ "$(id -u)" != "0" ] && sudo_cmd="sudo"
  echo "setup-notebooks: apt-get install ${need_apt[*]}" >&2
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_apt[@]}" fonts-dejavu-core >&2
fi

deno="$cache/node_modules/.bin/deno"
if [ ! -x "$deno" ] || ! "$deno" --version 2>/dev/null | grep -q "deno $deno_version"; then
  echo "setup-notebooks: npm install deno@$deno_version into .notebook/" >&2
  mkdir -p "$cache"
  [ -f "$cache/package.json" ] || echo '{ "name": "gradgen-notebook-kernels", "private": true }' > "$cache/package.json"
  (cd "$cache" && npm install --no-audit --no-fund --silent "deno@$deno_version" >&2)
fi

kernel="$cache/jupyter/kernels/gradgen-deno"
mkdir -p "$kernel"
cat > "$kernel/kernel.json" <<JSON
{
  "argv": ["$deno", "jupyter", "--kernel", "--conn", "{connection_file}"],
  "display_name": "Deno (gradgen)",
  "language": "typescript",
  "env": { "NO_COLOR": "1", "DENO_NO_UPDATE_CHECK": "1" }
}
JSON
echo "$cache/jupyter"
