/**
 * llama.cpp's RPC backend (ggml-rpc): a model's layers on the devices of other hosts, and the server that
 * lends this host's devices (`moodaxis rpc-server`).
 *
 * The backend comes linked in (source build, GGML_RPC) or as a plugin built from the pinned source at
 * first use (prebuilt addon: build-rpc/libggml-rpc.so; node-llama-cpp's prebuilt packages ship none).
 * llama.cpp's RPC client aborts its process when a connection fails, so every server is checked here
 * first (a TCP connection and the protocol's hello, with a timeout), and a model with `rpc` runs in a
 * child process (isolate mode) unless asked otherwise: a server that dies mid-run ends the child only,
 * and the error names the server that no longer answers.
 *
 * The protocol has no authentication and no encryption: anyone who reaches a server can use its devices
 * and read what it computes. Trusted networks only; the server binds to 127.0.0.1 unless told otherwise.
 */
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { RPC_DEFAULTS } from '../defaults.js';
import { ensureCuda, nativeAddon } from './binding.js';
import { buildFailure, linesTo, runBuildScript } from './build-script.js';
import { MoodaxisError, badInput } from './errors.js';
import { withFileLock } from './file-lock.js';
import { packageRoot } from './package-root.js';

/** GGML_RPC_MAX_SERVERS at the pinned llama.cpp. */
export const MAX_RPC_SERVERS = 16;
/** RPC_PROTO_MAJOR_VERSION / MINOR of the pinned llama.cpp: a server must speak this major and at most this minor. */
export const RPC_PROTOCOL = Object.freeze({ major: 6, minor: 0 });
/** The plugin built from the pinned source for the prebuilt addon. */
export const rpcPluginPath = join(packageRoot, 'build-rpc', 'libggml-rpc.so');

/** The security note `rpc-server` prints and the README repeats. */
export const RPC_SECURITY_NOTE =
  "llama.cpp's RPC protocol has no authentication and no encryption: anyone who can reach this port can use these devices and read what they compute. Use it on trusted networks only";

const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;

/** Checks a host to listen on or to connect to (a name or an IPv4 address: llama.cpp's endpoints are `host:port`, split at the first colon). */
export function checkRpcHost(host: unknown, what: string): string {
  if (typeof host !== 'string' || host === '') throw badInput(`${what}: expected a host name or IPv4 address, got ${JSON.stringify(host)}`);
  if (host.includes(':')) throw badInput(`${what} ${host}: llama.cpp's RPC endpoints are host:port split at the first colon, so IPv6 addresses cannot be used: give a host name or an IPv4 address`);
  if (!HOST.test(host)) throw badInput(`${what} ${host}: not a host name or IPv4 address`);
  return host;
}

/** Checks a port number. */
export function checkRpcPort(port: unknown, what: string): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw badInput(`${what} ${String(port)}: must be an integer from 1 to 65535`);
  return port;
}

/**
 * The `rpc` load option: RPC servers as `host:port` (an array, or one comma-separated string). Refused in
 * one line naming the value: not host:port, a port outside 1…65535, a server named twice, more than 16.
 */
export function parseRpcServers(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
  if (!Array.isArray(list) || list.length === 0) throw badInput(`rpc must be a list of RPC servers as host:port (e.g. 192.168.1.10:50052), got ${JSON.stringify(value)}`);
  const servers = list.map((entry: unknown) => {
    if (typeof entry !== 'string') throw badInput(`rpc: ${JSON.stringify(entry)} is not host:port (e.g. 192.168.1.10:50052)`);
    const at = entry.lastIndexOf(':');
    if (at <= 0 || !/^\d+$/.test(entry.slice(at + 1))) throw badInput(`rpc: "${entry}" is not host:port (e.g. 192.168.1.10:50052)`);
    const host = checkRpcHost(entry.slice(0, at), `rpc: "${entry}": host`);
    const port = checkRpcPort(Number(entry.slice(at + 1)), `rpc: "${entry}": port`);
    return `${host}:${port}`;
  });
  const twice = servers.find((s, i) => servers.indexOf(s) !== i);
  if (twice) throw badInput(`rpc names ${twice} twice`);
  if (servers.length > MAX_RPC_SERVERS) throw badInput(`rpc lists ${servers.length} servers: llama.cpp takes at most ${MAX_RPC_SERVERS}`);
  return servers;
}

export interface RpcServerCheck {
  endpoint: string;
  /** Devices the server offers. */
  devices: number;
  /** Its protocol version, "6.0.0". */
  version: string;
}

/** The hello (command 14, an empty capability block of 24 bytes) and the device count (command 15) as the client sends them. */
function helloRequest(): Buffer {
  const out = Buffer.alloc(1 + 8 + 24 + 1 + 8);
  out.writeUInt8(14, 0);
  out.writeBigUInt64LE(24n, 1);
  out.writeUInt8(15, 33);
  out.writeBigUInt64LE(0n, 34);
  return out;
}

const unreachable = (endpoint: string, why: string) => new MoodaxisError('RESOURCE', `RPC server ${endpoint}: ${why}`);

/**
 * Connects to an RPC server, exchanges the protocol's hello and asks for its device count, then lets it
 * go (it serves one client at a time and is back to listening at once). Rejects with RESOURCE naming the
 * server when it cannot be reached, does not answer in time, or speaks another protocol version.
 */
export function checkRpcServer(endpoint: string, timeoutMs: number = RPC_DEFAULTS.checkTimeoutMs): Promise<RpcServerCheck> {
  const at = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, at);
  const port = Number(endpoint.slice(at + 1));
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let got = Buffer.alloc(0);
    let settled = false;
    const finish = (error: Error | null, value?: RpcServerCheck) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value!);
    };
    const timer = setTimeout(
      () => finish(unreachable(endpoint, `no answer within ${timeoutMs} ms (a server serves one client at a time: another process may be using it; or a firewall drops the connection)`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(helloRequest()));
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 8 && got.readBigUInt64LE(0) !== 28n) return finish(unreachable(endpoint, 'answered, but not as a llama.cpp RPC server of protocol 6 does'));
      if (got.length < 8 + 28) return;
      const [major, minor, patch] = [got[8]!, got[9]!, got[10]!];
      const version = `${major}.${minor}.${patch}`;
      if (major !== RPC_PROTOCOL.major || minor > RPC_PROTOCOL.minor)
        return finish(unreachable(endpoint, `speaks RPC protocol ${version}, this llama.cpp ${RPC_PROTOCOL.major}.${RPC_PROTOCOL.minor}: run the same llama.cpp version on both sides (moodaxis rpc-server of this moodaxis version)`));
      if (got.length < 8 + 28 + 8 + 4) return;
      finish(null, { endpoint, devices: got.readUInt32LE(8 + 28 + 8), version });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'ECONNREFUSED' ? 'connection refused (nothing listens on that port: is `moodaxis rpc-server` running there?)'
        : error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN' ? `unknown host (${error.code})`
        : `cannot connect (${error.code ?? error.message})`;
      finish(unreachable(endpoint, why));
    });
    socket.on('close', () => finish(unreachable(endpoint, 'closed the connection without answering the hello (not an RPC server, or one of another llama.cpp version)')));
  });
}

/** Checks every server (at once); the first failure, naming its server, rejects. */
export async function checkRpcServers(endpoints: string[], timeoutMs?: number): Promise<RpcServerCheck[]> {
  return Promise.all(endpoints.map((e) => checkRpcServer(e, timeoutMs)));
}

/**
 * The servers among `endpoints` that do not answer now, each with why (checked at once), for the error of
 * a model's process that died while it used them: empty when every one answers.
 */
export async function goneRpcServers(endpoints: string[], timeoutMs: number = RPC_DEFAULTS.checkTimeoutMs): Promise<Array<{ endpoint: string; reason: string }>> {
  const checks = await Promise.allSettled(endpoints.map((e) => checkRpcServer(e, timeoutMs)));
  return checks.flatMap((c, i) => (c.status === 'rejected' ? [{ endpoint: endpoints[i]!, reason: (c.reason as Error).message.replace(`RPC server ${endpoints[i]!}: `, '') }] : []));
}

const stderrLog = (line: string) => process.stderr.write(`moodaxis: ${line}\n`);
const buildLock = join(packageRoot, 'build-rpc', '.first-use-build.lock');
let rpcBackend: Promise<void> | null = null;

/**
 * Makes llama.cpp's RPC backend available in this process: linked in (source build), already loaded
 * (a prebuilt package that ships it), or the plugin built from the pinned source (at first use, once for
 * processes that start together; its output goes to `log`, never to stdout) and loaded.
 */
export function ensureRpcBackend(log: (line: string) => void = stderrLog): Promise<void> {
  rpcBackend ??= (async () => {
    const { addon, kind } = await nativeAddon();
    if (addon.systemInfo().backends.includes('RPC')) return;
    if (kind === 'source') throw new MoodaxisError('NATIVE', 'this source build has no RPC backend: rebuild it with `npm run build:source` (CMakeLists.txt turns GGML_RPC on), or use the prebuilt addon (MOODAXIS_BUILD=prebuilt)');
    if (!existsSync(rpcPluginPath)) {
      await withFileLock(
        buildLock,
        async () => {
          if (existsSync(rpcPluginPath)) return;
          const run = await runBuildScript(['--rpc-backend'], linesTo(log));
          if (run.code !== 0) throw new MoodaxisError('NATIVE', `building llama.cpp's RPC backend failed: ${buildFailure(run)}\nAfter fixing it: cd ${packageRoot} && npm run build:rpc-backend`);
        },
        { onWait: () => log("another process is building llama.cpp's RPC backend; waiting for it…") },
      );
    }
    const loaded = addon.loadBackend(rpcPluginPath);
    if (!loaded.ok) throw new MoodaxisError('NATIVE', `${rpcPluginPath} did not load: ${loaded.error}. Rebuild it: cd ${packageRoot} && npm run build:rpc-backend`);
  })().catch((error: unknown) => {
    rpcBackend = null; // a later call tries again
    throw error;
  });
  return rpcBackend;
}

export interface RpcServeOptions {
  /** Address to listen on (default 127.0.0.1: this host only). */
  host?: string;
  /** Port (default 50052). */
  port?: number;
  /** The devices to serve: the CUDA GPUs, the CPU, or CUDA when usable (default). */
  gpu?: 'auto' | 'cuda' | 'cpu';
  /** CPU threads of the CPU device (default: all cores but one). */
  threads?: number;
  /** Progress lines (a first-use build of the backend), default stderr. */
  log?: (line: string) => void;
}

export interface RpcServer {
  endpoint: string;
  /** What it serves, as llama.cpp names the devices ("CPU: AMD EPYC", "CUDA0: NVIDIA H200"). */
  devices: string[];
  /** Rejects if the server stops on its own (it serves until the process ends). */
  stopped: Promise<never>;
}

/** Whether the address is free to listen on; a one-line error otherwise. */
function checkListen(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      const where = `${host}:${port}`;
      if (error.code === 'EADDRINUSE') reject(new MoodaxisError('RESOURCE', `${where} is in use (another RPC server, or another program): choose another --port`));
      else if (error.code === 'EADDRNOTAVAIL') reject(badInput(`${where}: ${host} is not an address of this machine`));
      else if (error.code === 'EACCES') reject(new MoodaxisError('RESOURCE', `${where}: no permission to listen on port ${port} (ports below 1024 need privileges)`));
      else if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') reject(badInput(`${where}: unknown host ${host}`));
      else reject(new MoodaxisError('RESOURCE', `${where}: cannot listen (${error.code ?? error.message})`));
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts llama.cpp's RPC server in this process on the devices `gpu` chooses; it serves until the
 * process ends. Resolves once it answers on its port; a busy port or an unusable device is refused
 * first, in one line.
 */
export async function startRpcServer(options: RpcServeOptions = {}): Promise<RpcServer> {
  const host = checkRpcHost(options.host ?? RPC_DEFAULTS.host, 'host');
  const port = checkRpcPort(options.port ?? RPC_DEFAULTS.port, 'port');
  const gpu = options.gpu ?? RPC_DEFAULTS.gpu;
  if (!['auto', 'cuda', 'cpu'].includes(gpu)) throw badInput(`gpu must be auto, cuda or cpu, got ${String(gpu)}`);
  // one core left free, as for a model (llama.cpp's thread barriers spin)
  const threads = options.threads ?? Math.max(1, availableParallelism() - 1);
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024) throw badInput(`threads must be an integer between 1 and 1024, got ${threads}`);
  await checkListen(host, port);
  await ensureRpcBackend(options.log);
  const { addon } = await nativeAddon();
  let devices = addon.systemInfo().devices.filter((d) => d.type === 'cpu');
  if (gpu !== 'cpu') {
    const cuda = await ensureCuda({ log: options.log });
    if (cuda.ok) devices = cuda.devices;
    else if (gpu === 'cuda') throw new MoodaxisError('RESOURCE', `CUDA was asked for but is not usable: ${cuda.reason}. Use --gpu cpu, or see \`moodaxis doctor\`.`);
  }
  if (devices.length === 0) throw new MoodaxisError('NATIVE', 'llama.cpp found no device to serve');
  const endpoint = `${host}:${port}`;
  let ended: { errors: string } | null = null;
  const serving = addon.rpcServe({ endpoint, threads, devices: devices.map((d) => d.name) }).then((r) => (ended = r));
  const stopped = serving.then((r): never => {
    throw new MoodaxisError('RESOURCE', `the RPC server on ${endpoint} stopped: llama.cpp could not listen there or start its devices${r.errors ? ` (${r.errors})` : ''}`);
  });
  stopped.catch(() => undefined);
  // answers once its thread has bound the port (connecting to a loopback address when it listens on all)
  const probeHost = host === '0.0.0.0' ? '127.0.0.1' : host;
  for (let waited = 0; ; waited += 50) {
    if (ended) await stopped;
    const ok = await checkRpcServer(`${probeHost}:${port}`, 2000).then(() => true, () => false);
    if (ok) break;
    if (waited > 10_000) throw new MoodaxisError('RESOURCE', `the RPC server on ${endpoint} did not answer within 10 s of starting`);
    await sleep(50);
  }
  return { endpoint, devices: devices.map((d) => `${d.name}: ${d.description}`), stopped };
}
