// A trial-worker process (runTrials starts them; `neurite worker --trials`
// runs one on another machine): it takes one trial at a time from the queue
// and runs the trial script's default export on its parameters.
import { type TrialWorkerInit, trialWorker } from './trial-worker.js';

const init = JSON.parse(process.argv[2] ?? '{}') as TrialWorkerInit;
trialWorker(init).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`neurite trial worker: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
