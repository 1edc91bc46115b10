#!/usr/bin/env node
import { existsSync } from 'node:fs';

const entry = new URL('../dist/lib/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('moodaxis: the compiled library is missing (dist/). In a checkout run: npm install (or npm run build)\n');
  process.exit(1);
}
const { main } = await import(entry.href);
await main();
