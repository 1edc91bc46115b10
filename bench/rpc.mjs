#!/usr/bin/env node
// The cost of llama.cpp's RPC backend, measured side by side in one run: one generate workload with the
// model in this process, in a child process (isolate: what an `rpc` load also does), and over two
// `moodaxis rpc-server` processes on this host. Prints a table and writes bench-results/rpc.json.
//
//   node bench/rpc.mjs [--model test/models/stories260K.gguf] [--server-gpu cpu|cuda] [--runs 2]
//                      [--requests 64] [--tokens 64] [--parallel 16] [--server-threads 1]
//
// On CPU (the default) the servers compute on the same cores as the local model would, so the table
// shows the protocol's overhead (a network round trip per graph split and step), not a speed-up.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const { values: flags } = parseArgs({
  options: {
    model: { type: 'string', default: join(root, 'test', 'models', 'stories260K.gguf') },
    'server-gpu': { type: 'string', default: 'cpu' },
    'server-threads': { type: 'string', default: '1' },
    runs: { type: 'string', default: '2' },
    requests: { type: 'string', default: '64' },
    tokens: { type: 'string', default: '64' },
    parallel: { type: 'string', default: '16' },
  },
});
const log = (m) => process.stderr.write(`[rpc ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const outDir = process.env.OUT || join(root, 'bench-results');

/** User + system seconds of a process (with its reaped children for `self`), from /proc (USER_HZ 100). */
function cpuSeconds(pid = 'self') {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100;
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

function startServer(port) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'moodaxis.js'), 'rpc-server', '--port', String(port), '--gpu', flags['server-gpu'], '--threads', flags['server-threads']], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => {
      err += c;
      if (err.includes('listening on')) resolve({ child, endpoint: `127.0.0.1:${port}` });
    });
    child.once('exit', (code) => reject(new Error(`rpc-server exited (${code}): ${err}`)));
  });
}

const { loadModel } = await import('../dist/lib/engine/index.js');
const requests = Array.from({ length: Number(flags.requests) }, (_, i) => ({ prompt: `Once upon a time, ${i}` }));
// The local rows run on the servers' kind of device (an 8B model on the CPU would take hours); deterministic
// mode on a GPU decodes each sequence alone, so it is used on the CPU only.
const device = flags['server-gpu'] === 'cpu' ? 'cpu' : 'cuda';
const options = { maxTokens: Number(flags.tokens), parallel: Number(flags.parallel), deterministic: device === 'cpu', ignoreEos: true, seed: 7 };

const servers = await Promise.all([startServer(await freePort()), startServer(await freePort())]);
const serverCpu = () => servers.reduce((s, x) => s + cpuSeconds(x.child.pid), 0);
const configs = [
  { name: 'in process', load: { gpu: device } },
  { name: 'isolate (child process)', load: { gpu: device, isolate: true } },
  { name: '2 rpc-servers on localhost', load: { gpu: 'cpu', rpc: servers.map((s) => s.endpoint) } },
];
const rows = configs.map((c) => ({ name: c.name, load: [], seconds: [], cpu: [], tokens: 0 }));
let reference = null;
try {
  for (let run = 0; run < Number(flags.runs); run++) {
    for (const [i, config] of configs.entries()) {
      const cpu0 = cpuSeconds() + serverCpu();
      let t = performance.now();
      const model = await loadModel(flags.model, config.load);
      rows[i].load.push((performance.now() - t) / 1000);
      t = performance.now();
      const results = await model.generate(requests, options);
      rows[i].seconds.push((performance.now() - t) / 1000);
      await model.dispose();
      rows[i].cpu.push(cpuSeconds() + serverCpu() - cpu0);
      rows[i].tokens = results.reduce((s, r) => s + r.tokens, 0);
      const texts = results.map((r) => r.text);
      reference ??= texts;
      if (JSON.stringify(texts) !== JSON.stringify(reference)) log(`${config.name}: texts differ from the first configuration`);
      log(`${config.name}, run ${run + 1}: load ${rows[i].load.at(-1).toFixed(1)} s, generate ${rows[i].seconds.at(-1).toFixed(1)} s, CPU ${rows[i].cpu.at(-1).toFixed(1)} s`);
    }
  }
} finally {
  for (const s of servers) s.child.kill('SIGTERM');
}
const fmt = (xs) => xs.map((x) => x.toFixed(1)).join(', ');
console.log(`model ${flags.model}, ${requests.length} requests × ${options.maxTokens} tokens, parallel ${options.parallel}, deterministic; servers --gpu ${flags['server-gpu']} --threads ${flags['server-threads']}`);
console.log('| configuration | load s | generate s | tokens/s (best) | CPU s, all processes |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${fmt(r.load)} | ${fmt(r.seconds)} | ${(r.tokens / Math.min(...r.seconds)).toFixed(0)} | ${fmt(r.cpu)} |`);
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'rpc.json'), `${JSON.stringify({ flags, rows, createdAt: new Date().toISOString() }, null, 2)}\n`);
