#!/usr/bin/env node
// Proves one CUDA backend plugin in a throwaway process: load it into the prebuilt addon, load a tiny
// model with every layer on the GPU, and decode a few tokens for two sequences (real kernel launches,
// batched and single). llama.cpp aborts the process on a CUDA error; the parent
// (lib/engine/gpu-backends.ts) reads that from the exit signal and the log lines on stderr.
// Usage: gpu-probe.mjs ADDON.node PLUGIN.so MODEL.gguf  → one JSON line on stdout: { ok, device?, error? }
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const [addonPath, plugin, modelPath] = process.argv.slice(2);
const answer = (result, code) => {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = code;
};

try {
  const addon = createRequire(import.meta.url)(addonPath);
  addon.init({ libDir: dirname(addonPath), verbose: true });
  const loaded = addon.loadBackend(plugin);
  if (!loaded.ok) {
    answer({ ok: false, error: `the backend did not load: ${loaded.error}` }, 3);
  } else {
    const gpu = addon.systemInfo().devices.find((d) => d.type === 'gpu' || d.type === 'igpu');
    if (!gpu) {
      answer({ ok: false, error: 'the backend loaded but found no GPU' }, 3);
    } else {
      const model = await addon.Model.load(modelPath, { gpuLayers: -1, useMmap: true });
      const context = new addon.Context(model, { threads: 1 });
      // the addon holds no defaults: every field is given
      const request = (seed) => ({ text: '', tokens: Int32Array.from([1, 5, 9, 13]), addSpecial: false, parseSpecial: false, maxTokens: 6, seed, startInThink: false });
      const results = await context.generate([request(1), request(2)], {
        temperature: 0, topK: 1, topP: 1, ignoreEos: true, thinkBudget: -1, thinkClose: -1, parallel: 2, contextLimit: 0,
        flashAttn: false, f32Cache: false, backendSampling: false, solo: false, stream: false, reuseCache: false, capture: null,
      });
      const tokens = results.reduce((sum, r) => sum + r.tokens, 0);
      await context.dispose();
      model.dispose();
      if (tokens !== 12) answer({ ok: false, error: `the test decode produced ${tokens} tokens instead of 12` }, 3);
      else answer({ ok: true, device: gpu.description || gpu.name }, 0);
    }
  }
} catch (error) {
  answer({ ok: false, error: error instanceof Error ? error.message : String(error) }, 3);
}
