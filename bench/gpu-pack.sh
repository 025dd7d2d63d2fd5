#!/usr/bin/env bash
# Packs what bench/gpu-run.sh needs on a GPU machine that has no Node, no npm registry and perhaps no
# Vulkan loader (the device machine of a session that has one: nothing outside it can be reached):
# the models compiled ahead (bench/wgsl.mjs --pack), bench/wgsl.mjs, this machine's node binary,
# Dawn's Linux x64 build from the npm package webgpu, the Vulkan loader's .deb, and TF.js with its
# WebGPU backend bundled in one file where @tensorflow/tfjs-backend-webgpu is installed. Run it here
# (on the CPU machine, from the repository root; about 2 minutes, most of it compressing node):
#
#   bash bench/gpu-pack.sh            → .gpu-pack/ (ignored by git; about 32 MB)
#
# then, on the device machine, with .gpu-pack carried:  bash bench/gpu-run.sh  (see that file).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pack="$root/.gpu-pack"
cd "$root"
if [ "$(uname -m)" != "x86_64" ]; then
  echo "gpu-pack: this machine is $(uname -m); the GPU machine is x86-64, and the node binary packed must be too" >&2
  exit 1
fi
rm -rf "$pack"
mkdir -p "$pack/bench/support" "$pack/node_modules/webgpu/dist/linux-x64" "$pack/debs"
npm run --silent build
node bench/wgsl.mjs --pack="$pack"
cp bench/wgsl.mjs "$pack/bench/"
cp bench/support/measure.mjs "$pack/bench/support/"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$pack/node_modules/webgpu/"
xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node >"$pack/dawn.node.xz"
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" >"$pack/node.xz"
node --version >"$pack/node-version.txt"
# The Vulkan loader and GL vendor-neutral libraries (the set that ran Vulkan on the device machines,
# /work/.library/device/README.md), unpacked there only where it has no loader.
if ! (cd "$pack/debs" && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null 2>&1); then
  echo "gpu-pack: could not download the Vulkan loader's packages (apt-get update first?); gpu-run.sh then relies on the machine's loader" >&2
fi
git rev-parse HEAD >"$pack/commit.txt"
du -sh "$pack"
