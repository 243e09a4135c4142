// The helper thread of RedisGroup: it owns the Redis connections and runs
// each collective while the calling thread sleeps. Per collective (number
// seq) the keys are neurite:<job>:c:<seq>:v<r> (rank r's values), :n (the
// set of ranks that arrived) and :go<r> (the list rank r blocks on until the
// last rank to arrive pushes to it). A rank deletes its values of collective
// seq-1 once every rank has arrived at seq (so all of them have read them);
// every key also expires on its own.
//
// Every step may run twice: when Redis restarts, the client sends again the
// commands whose replies the dropped connection lost, which Redis may already
// have carried out. So arriving adds the rank to a set (not a counter), and a
// wake-up whose pop was lost that way is made good by looking at the set
// again every second.

import { workerData } from 'node:worker_threads';
import type { Redis } from 'ioredis';
import { connectRedis } from './redis-client.js';
import type { CollectiveReply, CollectiveRequest, RedisGroupWorkerData } from './redis-group-protocol.js';

const init = workerData as RedisGroupWorkerData;
const control = new Int32Array(init.control);
const ttlMs = 2 * init.timeoutMs + 10_000;
const key = (seq: number, what: string) => `neurite:${init.job}:c:${seq}:${what}`;

let commands: Redis | null = null;
/** BLPOP holds its connection: a second one for it. */
let blocking: Redis | null = null;

class Timeout extends Error {}

async function connections(): Promise<{ commands: Redis; blocking: Redis }> {
  const who = `rank ${init.rank} of ${init.worldSize}`;
  commands ??= await connectRedis(init.url, init.timeoutMs, who);
  blocking ??= await connectRedis(init.url, init.timeoutMs, who);
  return { commands, blocking };
}

/** Copy a reply's bytes into an aligned array (a Buffer from the socket need not be aligned). */
function valuesOf(bytes: Buffer | null, request: CollectiveRequest, rank: number): Float32Array | Float64Array {
  const expected = request.count * (request.dtype === 'float64' ? 8 : 4);
  if (bytes === null || bytes.byteLength !== expected)
    throw new Error(`${request.what}: rank ${rank}'s values are ${bytes === null ? 'missing from Redis' : `${bytes.byteLength} bytes, expected ${expected}`}`);
  const out = request.dtype === 'float64' ? new Float64Array(request.count) : new Float32Array(request.count);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

async function run(request: CollectiveRequest): Promise<void> {
  const { commands, blocking } = await connections();
  const { seq, kind, count, root } = request;
  const rank = init.rank;
  const world = init.worldSize;
  const width = request.dtype === 'float64' ? 8 : 4;
  const mine = Buffer.from(request.region, 0, count * width);
  const sends = kind === 'allReduce' || (kind === 'broadcast' && rank === root);
  const arrive = commands.multi();
  if (sends) arrive.set(key(seq, `v${rank}`), Buffer.from(mine), 'PX', ttlMs);
  arrive.sadd(key(seq, 'n'), String(rank)).pexpire(key(seq, 'n'), ttlMs).scard(key(seq, 'n'));
  const replies = (await arrive.exec()) ?? [];
  const [err, arrived] = replies[sends ? 3 : 2] ?? [new Error('no reply'), 0];
  if (err) throw err;
  if (Number(arrived) === world) {
    const wake = commands.pipeline();
    for (let r = 0; r < world; r++) wake.rpush(key(seq, `go${r}`), '1').pexpire(key(seq, `go${r}`), ttlMs);
    await wake.exec();
  }
  const deadline = performance.now() + init.timeoutMs;
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) {
      const n = await commands.scard(key(seq, 'n'));
      throw new Timeout(`${request.what}: timed out after ${init.timeoutMs / 1000} s waiting for the other ranks; ${n} of ${world} arrived`);
    }
    // Whole seconds or parts of one, never 0 (which blocks for ever).
    if ((await blocking.blpop(key(seq, `go${rank}`), Math.max(0.01, Math.min(1, left / 1000)))) !== null) break;
    if ((await commands.scard(key(seq, 'n'))) === world) break;
  }
  // Everyone arrived here, so everyone has read this rank's values of the previous collective.
  if (seq > 0) void commands.del(key(seq - 1, `v${rank}`), key(seq - 1, 'n')).catch(() => 0);
  if (kind === 'allReduce') {
    const others = Array.from({ length: world }, (_, r) => r).filter((r) => r !== rank);
    const fetched = others.length > 0 ? await commands.mgetBuffer(...others.map((r) => key(seq, `v${r}`))) : [];
    const own = request.dtype === 'float64' ? new Float64Array(request.region, 0, count) : new Float32Array(request.region, 0, count);
    const byRank: (Float32Array | Float64Array)[] = new Array(world);
    byRank[rank] = own.slice();
    others.forEach((r, i) => {
      byRank[r] = valuesOf(fetched[i], request, r);
    });
    // Rank order, in double precision, rounded once: the shared-memory group's arithmetic, so the same bits as sync-threads.
    for (let i = 0; i < count; i++) {
      let sum = byRank[0][i];
      for (let r = 1; r < world; r++) sum += byRank[r][i];
      own[i] = request.mean ? sum / world : sum;
    }
  } else if (kind === 'broadcast' && rank !== root) {
    const values = valuesOf(await commands.getBuffer(key(seq, `v${root}`)), request, root);
    new Uint8Array(request.region, 0, count * width).set(new Uint8Array(values.buffer));
  }
}

function answer(reply: CollectiveReply): void {
  init.replies.postMessage(reply);
  Atomics.store(control, 0, 1);
  Atomics.notify(control, 0);
}

init.requests.on('message', (request: CollectiveRequest) => {
  run(request).then(
    () => answer({}),
    (e: unknown) => answer({ error: e instanceof Error ? e.message : String(e), timeout: e instanceof Timeout }),
  );
});
