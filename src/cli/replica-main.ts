// One replica of `neurite launch ... train <args>`: a worker thread (sync,
// hogwild) or a worker process (async) that joins the job and runs the train
// command on its share of the data. Rank 0 prints and writes the run folder.
import { isMainThread } from 'node:worker_threads';
import { distributed } from '../index.js';
import { parseFlags } from './args.js';
import { BACKEND_CHOICES, type BackendChoice, selectBackend } from './backend.js';
import { trainCommand } from './commands/train.js';
import { UsageError } from './errors.js';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  // The backend is chosen before joining, so that the replica's share of the cores applies to it.
  const { values } = parseFlags(
    'train',
    args.filter((a, i) => a === '--backend' || args[i - 1] === '--backend'),
    { backend: { type: 'string' } },
  );
  const requested = typeof values.backend === 'string' ? values.backend.toLowerCase() : undefined;
  selectBackend((BACKEND_CHOICES as readonly string[]).includes(requested ?? '') ? (requested as BackendChoice) : undefined);
  const replica = distributed.init();
  const code = await trainCommand(args, replica);
  await replica.report({ rank: replica.rank, code });
  return code;
}

try {
  const code = await main();
  if (!isMainThread) process.exitCode = code;
  // A process exits now: a native thread pool or an idle Redis socket must not keep it alive.
  else process.exit(code);
} catch (e) {
  // A thread's error reaches the launcher, which stops the other replicas and names this one.
  if (!isMainThread) throw e;
  const err = e as Error;
  process.stderr.write(`${err.name}: ${err.message}\n${e instanceof UsageError && e.hint ? `  ${e.hint}\n` : ''}`);
  process.exit(e instanceof UsageError ? e.exitCode : 1);
}
