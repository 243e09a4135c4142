// The shared-memory barrier of the thread replicas (src/distributed/shared-group.ts), and the Redis group's wait for its helper thread (redis-group.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { waitForFlag } from '../../src/distributed/redis-group.js';
import { controlLength, float64Bytes, SharedMemoryGroup } from '../../src/distributed/shared-group.js';

test('a barrier notices an abort that came without a wake-up, long before its deadline', () => {
  // An abort posted between the barrier's check and its wait wakes no one (the notify finds no
  // waiter). Here a thread sets the abort word without notifying at all: the waiting rank must
  // still stop within a poll interval, not at its 3 s deadline.
  const control = new SharedArrayBuffer(controlLength(2) * 4);
  const group = new SharedMemoryGroup(
    { rank: 0, worldSize: 2, mode: 'sync-threads', seed: 1, timeoutMs: 3000, control, float64: new SharedArrayBuffer(float64Bytes(2)) },
    { offer: () => {}, receive: () => Promise.reject(new Error('unused')) },
  );
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const words = new Int32Array(workerData);
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
     Atomics.store(words, 2, 2);`,
    { eval: true, workerData: control },
  );
  const started = Date.now();
  assert.throws(() => group.barrier('step'), {
    name: 'DistributedError',
    message: "step: rank 1 failed, so rank 0 stops too (the launcher reports rank 1's error)",
  });
  const waited = Date.now() - started;
  assert.ok(waited < 1500, `the barrier waited ${waited} ms`);
  void worker.terminate();
});

test("the Redis group's wait for its helper's reply sleeps through a notify that comes without the flag (the previous call's late notify)", () => {
  // The helper posts its reply, stores 1, then notifies. When the caller saw the store and went on before the
  // notify came, that notify lands in the next call's wait, before its reply exists: CI saw "the Redis collectives
  // thread did not answer" from it. Here a thread notifies at 50 ms without setting the flag, then sets and notifies
  // at 300 ms: the wait must return at the second.
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const flag = new Int32Array(workerData);
     const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
     sleep(50);
     Atomics.notify(flag, 0);
     sleep(250);
     Atomics.store(flag, 0, 1);
     Atomics.notify(flag, 0);`,
    { eval: true, workerData: flag.buffer },
  );
  const started = Date.now();
  assert.equal(waitForFlag(flag, started + 5000), true);
  const waited = Date.now() - started;
  assert.ok(waited >= 250, `the wait returned after ${waited} ms, before the flag was set`);
  void worker.terminate();
  // And with nobody to set it, it gives up at the deadline.
  const flagNever = new Int32Array(new SharedArrayBuffer(4));
  const t0 = Date.now();
  assert.equal(waitForFlag(flagNever, t0 + 100), false);
  assert.ok(Date.now() - t0 >= 95);
});
