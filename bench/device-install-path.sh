#!/usr/bin/env bash
# On the GPU machine (device tool), from the project root: lay out what `npm install` leaves on a
# development checkout, with no CUDA build anywhere, then run bench/install-path.mjs.
#   bash bench/device-install-path.sh first-use    `moodaxis fingerprint` on the 8B-shape fixture, nothing else
#   bash bench/device-install-path.sh compare      the workload on that path beside the build:cuda path
# Carried in .gpu-carry/ (ignored): linux-x64.tgz (@node-llama-cpp/linux-x64, what our addon links) and
# cuda.tgz.part.* (@node-llama-cpp/linux-x64-cuda, 143 MB, brought over several calls into /tmp/cuda-parts);
# build/ and dist/ as built here by `npm install`; .device/ from ../shared/gpu/pack.sh.
set -euo pipefail
step=$1
source .device/prelude.sh
# a user's machine has no architecture setting: the CUDA backend build reads the GPU's own
unset MOODAXIS_CUDA_ARCHITECTURES
out=${OUT:-bench-results}
mods=node_modules/@node-llama-cpp
if [ ! -d $mods/linux-x64 ]; then
  mkdir -p $mods /tmp/unpack-cpu && tar xzf .gpu-carry/linux-x64.tgz -C /tmp/unpack-cpu && mv /tmp/unpack-cpu/package $mods/linux-x64
fi
if [ ! -d $mods/linux-x64-cuda ]; then
  mkdir -p /tmp/unpack-cuda && cat /tmp/cuda-parts/cuda.tgz.part.* | tar xz -C /tmp/unpack-cuda && mv /tmp/unpack-cuda/package $mods/linux-x64-cuda
fi
model=/tmp/models/llama3-8b-shape-Q8_0.gguf
if [ ! -f $model ]; then
  mkdir -p /tmp/models
  node -e "import('./dist/fixtures/models.js').then(async (m) => { const p = await m.ensureFixtureModel('llama3_8b', '/tmp/models'); require('fs').renameSync(p, '$model'); })"
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee $out/gpu.txt
case $step in
  first-use)
    ls build-cuda build-source 2>/dev/null && { echo "a CUDA build exists already: not a first use" >&2; exit 3; } || true
    node bench/install-path.mjs first-use $model
    # build:cuda for the comparison, in its own session so that it runs on after this call
    setsid nohup node scripts/build-addon.mjs --from-source --gpu cuda > /tmp/build-cuda.log 2>&1 < /dev/null &
    ;;
  compare)
    while pgrep -f "build-addon.mjs --from-source" > /dev/null; do sleep 5; done
    tail -3 /tmp/build-cuda.log
    node bench/install-path.mjs compare $model
    ;;
esac
