// The wasm backend's memory model: tensors live in the module's shared memory
// (no copies on the hot path), views of them keep their storage alive, and
// without shared memory (a page that is not cross-origin isolated) it copies
// and runs on one thread, with the same numbers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createWasmBackend, wasmCopyTraffic, wasmModule, wasmThreadsReady } from '../../src/backends/wasm/index.js';
import { instantiateWasmModule } from '../../src/backends/wasm/module.js';
import { getBackend, nn, optim, randint, randn, seed, setBackend, Tensor } from '../../src/index.js';

const shared = wasmModule()?.runtimeInfo().sharedMemory ?? false;

/** Runs `body` on the wasm backend and puts the previous backend back. */
async function onWasm<T>(body: () => T | Promise<T>): Promise<T> {
  const previous = getBackend().name;
  setBackend('wasm');
  try {
    return await body();
  } finally {
    setBackend(previous);
  }
}

describe('wasm backend memory', { skip: createWasmBackend() === null ? 'wasm backend unavailable' : false }, () => {
  test('training steps of mlp-small copy nothing in or out: parameters, activations and gradients live in the module memory', {
    skip: shared ? false : 'no shared memory here',
  }, async () => {
    await onWasm(() => {
      seed(3);
      const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
      const optimizer = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
      const x = randn([64, 784]);
      const y = randint(0, 10, [64]);
      const step = () => {
        optimizer.zeroGrad();
        const loss = nn.functional.crossEntropy(model.forward(x), y);
        loss.backward();
        optimizer.step();
      };
      step();
      const before = wasmCopyTraffic();
      for (let i = 0; i < 10; i++) step();
      const after = wasmCopyTraffic();
      assert.ok(after.calls > before.calls + 50, `the steps ran through the module (${after.calls - before.calls} calls)`);
      assert.ok(after.residentArrays > before.residentArrays + 100, 'arrays were used in place');
      assert.equal(after.bytesIn - before.bytesIn, 0, 'bytes copied in over 10 steps');
      assert.equal(after.bytesOut - before.bytesOut, 0, 'bytes copied out over 10 steps');
    });
  });

  test('a slice of a tensor keeps its storage when the tensor itself is collected', { skip: shared ? false : 'no shared memory here' }, async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    await onWasm(async () => {
      let whole: Tensor | null = randn([64, 256]);
      const rows = whole.narrow(0, 8, 8);
      const expected = Float32Array.from(rows.data);
      assert.ok(shared && rows.data.buffer === whole.data.buffer, 'the slice is a view of the tensor');
      whole = null;
      // Collect, let the finalizers run, then allocate blocks of the same size that would reuse a freed one.
      for (let round = 0; round < 3; round++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      const fill = Array.from({ length: 8 }, () => randn([64, 256]).mul(1000));
      assert.deepEqual(rows.data, expected, 'the slice still reads its own values');
      assert.equal(fill.length, 8);
    });
  });

  test('blocks of collected tensors are freed and reused: memory does not grow with the number of steps', {
    skip: shared ? false : 'no shared memory here',
  }, async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const module = wasmModule();
    assert.ok(module);
    await onWasm(async () => {
      const round = async () => {
        for (let i = 0; i < 50; i++) randn([256, 256]).relu();
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      };
      // The first rounds may still grow the arena and the free lists' classes; after that, blocks are reused.
      await round();
      await round();
      const settled = module.memoryBytes();
      for (let r = 0; r < 5; r++) await round();
      assert.equal(module.memoryBytes(), settled, 'the memory grew although every tensor was collected');
    });
  });

  test('past the budget of unreclaimed blocks, step outputs stay in JavaScript memory but parameters and optimizer state do not', {
    skip: shared ? false : 'no shared memory here',
  }, async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const inModule = (t: Tensor) => t.data.buffer instanceof SharedArrayBuffer;
    await onWasm(async () => {
      // 80 MiB of garbage with no chance for a finalizer to run: over the 64 MiB budget.
      for (let i = 0; i < 80; i++) randn([512, 512]);
      const output = randn([512, 512]);
      const layer = new nn.Linear(512, 512);
      const optimizer = new optim.Adam(layer.parameters(), { lr: 1e-3 });
      layer.forward(output).sum().backward();
      optimizer.step();
      assert.equal(inModule(output), false, 'a step output past the budget stays in JavaScript memory');
      assert.ok(inModule(layer.weight), 'the parameter lives in the module memory');
      const moments = [...optimizer.state.values()].flatMap((s) => Object.values(s).filter((v): v is Tensor => v instanceof Tensor));
      assert.ok(moments.length > 0 && moments.every(inModule), "Adam's moments live in the module memory");
      // Leave the budget as the next test expects it: collected, finalizers run.
      for (let round = 0; round < 3; round++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(inModule(randn([512, 512])), true, 'once finalizers ran, outputs are placed in the module memory again');
    });
  });

  test('the module memory grows in large steps (16 MiB or an eighth), not by the pages one block needs', () => {
    // Each growth of a shared memory is costly in a browser and makes the
    // backend rebuild its views; growing page by page made every other
    // allocation of a 32 KB tensor grow it. An unshared module shows the
    // allocator's rule alone: its arena is the only thing that allocates.
    const module = instantiateWasmModule(1, { shared: false });
    const before = module.memoryBytes();
    let after = before;
    for (let floats = 1 << 18; after === before && floats <= 1 << 24; floats *= 2) {
      const a = new Float32Array(floats).fill(1);
      const out = new Float32Array(floats);
      module.add(a, a, out, floats);
      assert.equal(out[floats - 1], 2);
      after = module.memoryBytes();
    }
    assert.ok(after > before, 'the memory never grew');
    assert.ok(after - before >= Math.max(16 * 2 ** 20, before / 8), `grew by ${after - before} bytes from ${before}`);
  });

  test('without shared memory: arrays are copied, one thread, the same numbers', async () => {
    const unshared = instantiateWasmModule(4, { shared: false });
    assert.equal(unshared.storage, null);
    await unshared.startThreads();
    assert.deepEqual(
      { ...unshared.runtimeInfo(), threads: unshared.runtimeInfo().threads },
      { sharedMemory: false, threads: 1, maxThreads: 1, workersReady: 0 },
    );
    assert.equal(unshared.setNumThreads(4), 1);
    const m = 70;
    const k = 90;
    const n = 50;
    seed(5);
    const a = Float32Array.from(randn([m * k]).data);
    const b = Float32Array.from(randn([k * n]).data);
    const out = new Float32Array(m * n);
    unshared.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, out, n);
    const again = new Float32Array(m * n);
    const sharedModule = wasmModule();
    assert.ok(sharedModule);
    sharedModule.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, again, n);
    assert.deepEqual(out, again);
    const traffic = unshared.copyTraffic();
    assert.equal(traffic.bytesIn, (m * k + k * n) * 4);
    assert.equal(traffic.bytesOut, m * n * 4);
  });

  test('workers start where memory is shared, and setNumThreads stays within them', async () => {
    await wasmThreadsReady();
    const module = wasmModule();
    assert.ok(module);
    const info = module.runtimeInfo();
    if (!info.sharedMemory) {
      assert.equal(info.maxThreads, 1);
      return;
    }
    assert.equal(info.workersReady, info.maxThreads - 1);
    assert.equal(module.setNumThreads(1000), info.maxThreads);
    assert.equal(module.setNumThreads(1), 1);
    module.setNumThreads(info.maxThreads);
  });
});
