// A private redis-server for a job (or a test) on 127.0.0.1: started on a
// free port with nothing persisted, and stopped by its process id.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { DistributedError } from './errors.js';

/** Whether `redis-server` is on the PATH. */
export function redisServerInstalled(): boolean {
  const r = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

/** A port nobody listens on now (Redis turns TCP off on port 0, so the port is chosen here). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A running redis-server of ours. */
export interface LocalRedis {
  /** redis://127.0.0.1:port */
  readonly url: string;
  /** The free port it listens on. */
  readonly port: number;
  /** Its process id (what stop() signals). */
  readonly pid: number;
  /** Stop it (SIGTERM by pid, SIGKILL after a second) and wait until it exited. */
  stop(): Promise<void>;
}

/**
 * Start `redis-server` on 127.0.0.1 and a free port, saving nothing to disk
 * (a job's state lives as long as the job), and wait until it answers.
 */
export async function startRedis(options: { port?: number; extraArgs?: readonly string[] } = {}): Promise<LocalRedis> {
  if (!redisServerInstalled()) {
    throw new DistributedError('redis-server is not installed: install it (Debian: apt-get install redis-server) or give the URL of a running Redis');
  }
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(options.extraArgs ?? [])],
    {
      stdio: 'ignore',
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      break;
    } catch {
      client.disconnect();
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new DistributedError(`redis-server did not start on 127.0.0.1:${port}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const pid = child.pid as number;
  return {
    url,
    port,
    pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null) process.kill(pid, 'SIGKILL');
      }, 1000);
      await exited;
      clearTimeout(timer);
    },
  };
}
