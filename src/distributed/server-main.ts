// The program a parameter-server shard process runs (the launcher starts it
// with its options as one JSON argument). It exits 0 when the job stops.
import { type ServeOptions, serveShard } from './redis.js';

const options = JSON.parse(process.argv[2] ?? '{}') as ServeOptions;
if (options.rule && options.rule.maxStaleness === null) (options.rule as { maxStaleness: number }).maxStaleness = Number.POSITIVE_INFINITY;
serveShard(options).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`neurite parameter server ${options.shard}: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
