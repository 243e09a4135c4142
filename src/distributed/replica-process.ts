// Starting a replica (or a server, or a trial worker) as a process of its own:
// the launcher's Node flags passed on, and, for replicas, the job they join in
// NEURITE_DISTRIBUTED with their errors kept to say why they failed.
import { type ChildProcess, spawn } from 'node:child_process';
import type { AsyncJobInfo } from './redis.js';

/**
 * The launcher's own Node and V8 flags (--max-old-space-size, --single-threaded-gc...),
 * passed on to the processes it starts as child_process.fork would, except a
 * debugger's, whose port only one process can hold.
 */
export function nodeFlags(): string[] {
  return process.execArgv.filter((flag) => !/^--inspect/.test(flag));
}

/** A replica process and the last 4,000 characters of its stderr (which also reaches this process's). */
export interface ReplicaProcess {
  readonly child: ChildProcess;
  readonly stderrTail: () => string;
}

/** Run `script` with `argv` as the replica `info` describes. */
export function spawnReplica(script: string, argv: readonly string[], info: AsyncJobInfo): ReplicaProcess {
  const child = spawn(process.execPath, [...nodeFlags(), script, ...argv], {
    stdio: ['ignore', 'inherit', 'pipe'],
    env: { ...process.env, NEURITE_DISTRIBUTED: JSON.stringify(info) },
  });
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    tail = (tail + chunk.toString()).slice(-4000);
  });
  return { child, stderrTail: () => tail };
}
