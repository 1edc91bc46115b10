/**
 * `moodaxis rpc-server [--host 127.0.0.1] [--port 50052] [--gpu auto|cuda|cpu]`: llama.cpp's RPC server
 * in this process, lending this host's devices to models loaded elsewhere with `--rpc host:port`. It
 * serves until SIGINT or SIGTERM. The protocol has no authentication or encryption: the warning says so
 * on stderr, and it listens on 127.0.0.1 unless --host says otherwise.
 */
import { RPC_DEFAULTS } from '../../defaults.js';
import { defineCommand } from './shared.js';

export const rpcServerCommand = defineCommand({
  command: 'rpc-server',
  describe: "serve this host's GPUs (or CPU) to models loaded elsewhere with --rpc (llama.cpp's RPC server; trusted networks only)",
  builder: (y) =>
    y
      .option('host', { type: 'string', requiresArg: true, default: RPC_DEFAULTS.host, describe: 'address to listen on (0.0.0.0: every interface; the protocol has no authentication)' })
      .option('port', { type: 'number', requiresArg: true, default: RPC_DEFAULTS.port, describe: 'port to listen on' })
      .option('gpu', { requiresArg: true, choices: ['auto', 'cuda', 'cpu'] as const, default: RPC_DEFAULTS.gpu, describe: 'the devices to serve: the CUDA GPUs, the CPU, or CUDA when usable' })
      .option('threads', { type: 'number', requiresArg: true, describe: 'CPU threads of the CPU device (default: all cores but one)' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no status lines (the security warning still prints)' }),
  async handler(a) {
    const { RPC_SECURITY_NOTE, startRpcServer } = await import('../../engine/rpc.js');
    const say = (line: string) => a.quiet || process.stderr.write(`moodaxis: ${line}\n`);
    process.stderr.write(`moodaxis: warning: ${RPC_SECURITY_NOTE}${a.host === RPC_DEFAULTS.host ? '' : ` (listening on ${a.host}, not only this host)`}.\n`);
    const server = await startRpcServer({ host: a.host, port: a.port, gpu: a.gpu, ...(a.threads !== undefined ? { threads: a.threads } : {}), log: say });
    // a server stops on a signal: its own line, not the journal note of the commands that generate
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.removeAllListeners(signal);
      process.on(signal, () => {
        say(`RPC server on ${server.endpoint} stopped (${signal})`);
        process.exit(signal === 'SIGINT' ? 130 : 143);
      });
    }
    say(`RPC server listening on ${server.endpoint}, serving ${server.devices.join(', ')}; use it with --rpc ${server.endpoint}; Ctrl-C stops it`);
    await server.stopped;
  },
});
