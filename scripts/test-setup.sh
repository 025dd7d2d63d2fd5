#!/usr/bin/env bash
# Everything the test suite needs beyond `npm ci`, installed idempotently (a second run does
# nothing): Jupyter (Debian), the Deno and tslab notebook kernels (npm, into .notebook/) and Debian's Chromium.
# Call it before vitest, e.g. "test": "bash scripts/test-setup.sh && npm run build && tsc -p . && vitest run".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-notebooks.sh >/dev/null
# A CPU Vulkan driver Dawn accepts (Mesa ≥ 24 lavapipe) and the npm package webgpu, for the WGSL tests.
bash scripts/setup-webgpu.sh
