#!/usr/bin/env bash
# Idempotent setup for executing examples/*.ipynb headlessly (the notebook test, CI, a fresh clone):
#  - Jupyter's nbconvert/nbclient from Debian packages (PyPI is not needed),
#  - the Deno and tslab Jupyter kernels from npm, installed into .notebook/ (not the project's lock
#    file: the deno package's per-platform optional binaries make a lock file made here fail `npm ci`
#    elsewhere, and neither kernel is a dependency of gradgen),
#  - Debian's Chromium, which scripts/render-svg.mjs drives through playwright-core,
#  - kernelspecs "gradgen-deno" and "gradgen-tslab" under .notebook/jupyter (put it on JUPYTER_PATH),
#    written here rather than by `tslab install`, which needs IPython,
#  - examples/node_modules/gradgen -> the repository, so tslab's type checker (Node10 resolution: it
#    ignores package.json "exports", so no self-reference) finds `import … from "gradgen"` in
#    examples/inspect.ipynb; Deno and Node resolve the name through "exports" without it.
# Usage: bash scripts/setup-notebooks.sh   (prints the JUPYTER_PATH to export)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deno_version="2.9.6"
tslab_version="1.0.22"
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
tslab="$cache/node_modules/tslab/bin/tslab"
installed_tslab="$(node -p "require('$cache/node_modules/tslab/package.json').version" 2>/dev/null || true)"
if [ ! -x "$deno" ] || ! "$deno" --version 2>/dev/null | grep -q "deno $deno_version" || [ "$installed_tslab" != "$tslab_version" ]; then
  echo "setup-notebooks: npm install deno@$deno_version tslab@$tslab_version into .notebook/" >&2
  mkdir -p "$cache"
  [ -f "$cache/package.json" ] || echo '{ "name": "gradgen-notebook-kernels", "private": true }' > "$cache/package.json"
  (cd "$cache" && npm install --no-audit --no-fund --silent --save-exact "deno@$deno_version" "tslab@$tslab_version" >&2)
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

kernel="$cache/jupyter/kernels/gradgen-tslab"
mkdir -p "$kernel"
cat > "$kernel/kernel.json" <<JSON
{
  "argv": ["$(command -v node)", "$tslab", "kernel", "--config-path", "{connection_file}"],
  "display_name": "TypeScript (tslab, gradgen)",
  "language": "typescript"
}
JSON

link="$root/examples/node_modules/gradgen"
if [ ! -L "$link" ] || [ "$(readlink "$link")" != "../.." ]; then
  mkdir -p "$root/examples/node_modules"
  rm -rf "$link"
  ln -s ../.. "$link"
fi
echo "$cache/jupyter"
