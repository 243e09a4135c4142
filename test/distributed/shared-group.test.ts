// The shared-memory barrier of the thread replicas (src/distributed/shared-group.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
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
