// One trial of `neurite tune`: a trial worker (distributed.runTrials) calls
// this module's default export with the train arguments of one grid point;
// it trains in this process, as `neurite train --json` would, and returns the
// run's final validation figures and test results.
import { join } from 'node:path';
import { trainCommand } from './commands/train.js';
import { RUN_FILES, readJson } from './runs.js';

/** What a tune trial returns (JSON). */
export interface TuneOutcome {
  /** The train command's exit code. */
  code: number;
  /** The trial's run folder. */
  out: string;
  /** The last epoch's validation accuracy and loss, and the test set's. */
  valAccuracy?: number;
  valLoss?: number;
  testAccuracy?: number;
  testLoss?: number;
  /** Seconds of training. */
  trainSeconds?: number;
}

export default async function tuneTrial(params: { args: string[]; out: string }): Promise<TuneOutcome> {
  const code = await trainCommand([...params.args, '--out', params.out, '--json']);
  if (code !== 0) return { code, out: params.out };
  const history = readJson(join(params.out, RUN_FILES.historyJson), 'history') as { series: Record<string, number[]> };
  const results = readJson(join(params.out, RUN_FILES.results), 'results') as { testAccuracy?: number; testLoss?: number; trainSeconds?: number };
  return {
    code,
    out: params.out,
    valAccuracy: history.series.valAccuracy?.at(-1),
    valLoss: history.series.valLoss?.at(-1),
    testAccuracy: results.testAccuracy,
    testLoss: results.testLoss,
    trainSeconds: results.trainSeconds,
  };
}
