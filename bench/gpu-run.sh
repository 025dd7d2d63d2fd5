#!/usr/bin/env bash
# The WGSL bench on a real GPU, in one go, from .gpu-pack/ (made beforehand by bench/gpu-pack.sh on
# the CPU machine). On the device machine of a session that has one:
#
#   run(command: "bash bench/gpu-run.sh", carry: [".gpu-pack"], timeout_s: 540)
#
# It unpacks node and Dawn into /tmp, brings the Vulkan loader where the machine lacks one, points
# Vulkan at the NVIDIA driver, and runs bench/wgsl.mjs on the GPU's adapter (--require-gpu: a CPU
# adapter is refused, not measured) with --tfjs (TF.js's WebGPU backend beside it, if packed).
# Results: $OUT (the device tool's folder), else bench/results/gpu/: wgsl.json (every row and the
# per-dispatch timings), wgsl.txt (the printed tables), adapter.txt, nvidia-smi.txt.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pack="$root/.gpu-pack"
out="${OUT:-$root/bench/results/gpu}"
work=/tmp/gradgen-gpu-bench
mkdir -p "$out"
if [ ! -f "$pack/node.xz" ]; then
  echo "gpu-run: $pack/node.xz is missing: run bash bench/gpu-pack.sh first, and carry .gpu-pack" | tee "$out/wgsl.txt" >&2
  exit 1
fi
unxz() { # xz, or Python's lzma where xz is not installed
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$2"; else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
}
rm -rf "$work"
mkdir -p "$work"
cp -r "$pack/bench" "$pack/models" "$pack/node_modules" "$work/"
[ -f "$pack/tfjs-webgpu.mjs" ] && cp "$pack/tfjs-webgpu.mjs" "$work/"
unxz "$pack/node.xz" "$work/node" && chmod +x "$work/node"
unxz "$pack/dawn.node.xz" "$work/node_modules/webgpu/dist/linux-x64/dawn.node"
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  for f in "$pack"/debs/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; fi
{
  echo "commit $(cat "$pack/commit.txt" 2>/dev/null), node $("$work/node" --version)"
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-}"
  ldconfig -p | grep libvulkan
  "$work/node" --input-type=module -e '
    import { create, globals } from "'"$work"'/node_modules/webgpu/index.js";
    Object.assign(globalThis, globals);
    const gpu = create([]);
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) { console.log("no WebGPU adapter"); process.exit(0); }
    const { vendor, architecture, device, description } = adapter.info; // getters: JSON.stringify(info) misses them
    console.log(JSON.stringify({ info: { vendor, architecture, device, description }, features: [...adapter.features].sort() }));
    for (const key in adapter.limits) console.log(`  ${key} ${adapter.limits[key]}`);
    process.exit(0);'
} >"$out/adapter.txt" 2>&1
nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || true
cat "$out/adapter.txt"
set -o pipefail
# GPU_RUN_ALLOW_CPU=1: a dry run of this script on the CPU machine (lavapipe), without --require-gpu.
require=--require-gpu
[ "${GPU_RUN_ALLOW_CPU:-}" = 1 ] && require=
"$work/node" "$work/bench/wgsl.mjs" --prebuilt="$work" $require --tfjs --out="$out/wgsl.json" "$@" 2>&1 |
  grep -v '^Warning: max' | tee "$out/wgsl.txt"
