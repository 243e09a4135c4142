// Training on the GPU through compile(step, { executor }): the two-spirals
// network and a LeNet-5 step replayed by the WebGPU executor against the same
// steps on the CPU, on Dawn in Node (SwiftShader without a GPU). Skips, with
// one line saying how to enable it, as test/backends/webgpu.serial.test.ts does.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import type { Tensor } from '../../src/index.js';
import * as nt from '../../src/index.js';
import { relErr } from '../helpers.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;

let gpu: nt.WebGpu | null = null;
let why = '';
try {
  gpu = await nt.openWebGpu({ allowFallback: true });
} catch (e) {
  why = (e as Error).message;
}
const skip =
  gpu === null
    ? `WebGPU tests need Dawn (npm's webgpu package), libvulkan1 and a Vulkan driver (SwiftShader's ships in Debian's chromium): "apt-get install chromium libvulkan1" (.ci/run does) to run them; here: ${why}`
    : false;
after(() => gpu?.destroy());

/** One training step: cross-entropy of the model's outputs against the labels, backward, the optimizer's update. */
function crossEntropyStep(model: nt.nn.Module, opt: nt.optim.Optimizer): (x: Tensor, y: Tensor) => Tensor {
  return (x, y) => {
    opt.zeroGrad();
    const loss = nt.nn.functional.crossEntropy(model.call(x) as Tensor, y);
    loss.backward();
    opt.step();
    return loss;
  };
}

describe('training steps replayed on the GPU', { skip }, () => {
  const device = gpu as nt.WebGpu;

  test('two spirals: 30 Adam steps replayed on the GPU follow the CPU step for step', async (t) => {
    const run = async (onGpu: boolean) => {
      nt.seed(0);
      const data = nt.twoSpirals(200, { noise: 0.05 });
      const model = new nt.nn.Sequential(new nt.nn.Linear(2, 32), new nt.nn.Tanh(), new nt.nn.Linear(32, 32), new nt.nn.ReLU(), new nt.nn.Linear(32, 2));
      const opt = new nt.optim.Adam(model.parameters(), { lr: 0.03 });
      const step = crossEntropyStep(model, opt);
      const losses: number[] = [];
      if (onGpu) {
        const compiled = nt.compile(step, { modules: [model], executor: device.executor, onFallback: (r) => assert.fail(`fell back: ${r}`) });
        for (let i = 0; i < 30; i++) {
          // From the second replay on: the first uploads every array the step uses.
          if (i === 4) steady = device.transfers();
          losses.push((await compiled(data.x, data.y)).item());
        }
        await compiled.pull();
        assert.equal(compiled.stats.replays, 27);
      } else {
        const compiled = nt.compile(step, { modules: [model], onFallback: (r) => assert.fail(`fell back: ${r}`) });
        for (let i = 0; i < 30; i++) losses.push(compiled(data.x, data.y).item());
      }
      return { losses, weights: model.parameters().map((p) => Float32Array.from(p.data as Float32Array)) };
    };
    let steady: nt.GpuTransfers | null = null;
    const cpu = await run(false);
    const callsBefore = device.calls();
    const onGpu = await run(true);
    const calls = device.calls();
    const transfers = device.transfers();
    const transfersBefore = steady as unknown as nt.GpuTransfers;
    assert.ok(relErr(onGpu.losses, cpu.losses) < 1e-4, `losses: ${onGpu.losses.slice(-3)} against ${cpu.losses.slice(-3)}`);
    for (const [i, w] of onGpu.weights.entries()) assert.ok(relErr(w, cpu.weights[i]) < 1e-4, `parameter ${i} differs by ${relErr(w, cpu.weights[i])}`);
    assert.ok(cpu.losses[29] < cpu.losses[0] * 0.95, `the network learns: ${cpu.losses[0]} to ${cpu.losses[29]}`);
    const gpuCalls = calls.gpuCalls - callsBefore.gpuCalls;
    const cpuCalls = calls.cpuCalls - callsBefore.cpuCalls;
    assert.ok(gpuCalls > 27 * 10, `${gpuCalls} kernel calls on the GPU`);
    // Adam's update runs as the GPU's fused kernel, so the weights and moments stay there: per replay the inputs go
    // up, the loss comes back, and so do the arrays that the kernels without a GPU version (gather, scatterAdd,
    // slice: the cross-entropy's indexing) read and write.
    assert.equal(calls.fusedHostSteps - callsBefore.fusedHostSteps, 27);
    // Replays 2 to 27 (the pull after them moves nothing: nothing is newer on the GPU but what it downloads).
    const downloads = (transfers.downloads - transfersBefore.downloads) / 26;
    const uploads = (transfers.uploads - transfersBefore.uploads) / 26;
    const bytes = (transfers.bytesUp - transfersBefore.bytesUp) / 26;
    t.diagnostic(
      `per replay: ${gpuCalls / 27} GPU calls, ${cpuCalls / 27} CPU calls, ${uploads.toFixed(1)} uploads (${bytes.toFixed(0)} bytes), ${downloads.toFixed(1)} downloads`,
    );
    // Up: the points, and the labels as the cross-entropy's host step turns them into an index and weights. Nothing else.
    assert.equal(bytes, 200 * 2 * 4 + 200 * 4 + 200 * 4);
  });

  test('LeNet-5: steps on 64 images replayed on the GPU match the CPU (convolutions, pooling, SGD with momentum)', async (t) => {
    const run = async (onGpu: boolean) => {
      nt.seed(5);
      const model = nt.models.lenet5();
      const opt = new nt.optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
      const g = new nt.Generator(6);
      const x = nt.randn([64, 1, 28, 28], { generator: g });
      const y = nt.randint(0, 10, [64], { generator: g });
      const step = crossEntropyStep(model, opt);
      const losses: number[] = [];
      if (onGpu) {
        const compiled = nt.compile(step, { modules: [model], executor: device.executor, onFallback: (r) => assert.fail(`fell back: ${r}`) });
        for (let i = 0; i < 5; i++) losses.push((await compiled(x, y)).item());
        await compiled.pull();
        assert.equal(compiled.stats.replays, 2);
      } else {
        const compiled = nt.compile(step, { modules: [model], onFallback: (r) => assert.fail(`fell back: ${r}`) });
        for (let i = 0; i < 5; i++) losses.push(compiled(x, y).item());
      }
      return { losses, weights: model.parameters().map((p) => Float32Array.from(p.data as Float32Array)) };
    };
    const cpu = await run(false);
    const before = device.calls();
    const onGpu = await run(true);
    const after = device.calls();
    t.diagnostic(`per replay: ${(after.gpuCalls - before.gpuCalls) / 2} GPU calls, ${(after.cpuCalls - before.cpuCalls) / 2} CPU calls`);
    assert.ok(relErr(onGpu.losses, cpu.losses) < 1e-4, `losses: ${onGpu.losses} against ${cpu.losses}`);
    for (const [i, w] of onGpu.weights.entries()) assert.ok(relErr(w, cpu.weights[i]) < 1e-4, `parameter ${i} differs by ${relErr(w, cpu.weights[i])}`);
  });

  test('GPU memory stays flat over 1,000 replayed steps', async () => {
    nt.seed(1);
    const data = nt.twoSpirals(64, { noise: 0.05 });
    const model = new nt.nn.Sequential(new nt.nn.Linear(2, 8), new nt.nn.Tanh(), new nt.nn.Linear(8, 2));
    const opt = new nt.optim.SGD(model.parameters(), { lr: 0.1 });
    const compiled = nt.compile(crossEntropyStep(model, opt), { modules: [model], executor: device.executor });
    for (let i = 0; i < 5; i++) await compiled(data.x, data.y);
    const settled = device.memory();
    for (let i = 0; i < 1000; i++) await compiled(data.x, data.y);
    assert.deepEqual(device.memory(), settled);
    assert.equal(compiled.stats.replays, 1002);
  });

  test("eager calls of another batch size between replays (an epoch's last short batch) train on the CPU's newest weights", async () => {
    const train = async (onGpu: boolean) => {
      nt.seed(3);
      const model = new nt.nn.Sequential(new nt.nn.Linear(4, 16), new nt.nn.Tanh(), new nt.nn.Linear(16, 3));
      const opt = new nt.optim.Adam(model.parameters(), { lr: 0.05 });
      const step = crossEntropyStep(model, opt);
      const compiled = onGpu ? nt.compile(step, { modules: [model], executor: device.executor }) : nt.compile(step, { modules: [model] });
      const g = new nt.Generator(9);
      const losses: number[] = [];
      // Four "epochs" of five batches of 6 and a last batch of 2: the batch-2 signature warms up and records on the CPU while batch 6 replays.
      for (let epoch = 0; epoch < 4; epoch++) {
        for (const n of [6, 6, 6, 6, 6, 2]) {
          const x = nt.randn([n, 4], { generator: g });
          const y = nt.randint(0, 3, [n], { generator: g });
          losses.push((await compiled(x, y)).item());
        }
      }
      if ('pull' in compiled) await compiled.pull();
      return { losses, weights: model.parameters().map((p) => Float32Array.from(p.data as Float32Array)) };
    };
    const cpu = await train(false);
    const onGpu = await train(true);
    assert.ok(relErr(onGpu.losses, cpu.losses) < 1e-4, `losses ${onGpu.losses.slice(-4)} against ${cpu.losses.slice(-4)}`);
    for (const [i, w] of onGpu.weights.entries()) assert.ok(relErr(w, cpu.weights[i]) < 1e-4, `parameter ${i} differs by ${relErr(w, cpu.weights[i])}`);
  });

  test('an LSTM over a 6-step sequence with a linear head: replays on the GPU match the CPU', async (t) => {
    const run = async (onGpu: boolean) => {
      nt.seed(4);
      const lstm = new nt.nn.LSTM(8, 16, { batchFirst: true });
      const head = new nt.nn.Linear(16, 3);
      const model = new nt.nn.Sequential(lstm);
      const opt = new nt.optim.Adam([...lstm.parameters(), ...head.parameters()], { lr: 0.01 });
      const g = new nt.Generator(5);
      const x = nt.randn([4, 6, 8], { generator: g });
      const y = nt.randint(0, 3, [4], { generator: g });
      const step = (xs: Tensor, ys: Tensor) => {
        opt.zeroGrad();
        const out = lstm.call(xs);
        const seq = (Array.isArray(out) ? out[0] : out) as Tensor;
        // The last time step's hidden state: a view (narrow) that the executor stages through a GPU-side copy.
        const loss = nt.nn.functional.crossEntropy(head.call(seq.narrow(1, 5, 1).reshape([4, 16])) as Tensor, ys);
        loss.backward();
        opt.step();
        return loss;
      };
      const losses: number[] = [];
      if (onGpu) {
        const compiled = nt.compile(step, { modules: [model, head], executor: device.executor, onFallback: (r) => assert.fail(`fell back: ${r}`) });
        for (let i = 0; i < 6; i++) losses.push((await compiled(x, y)).item());
        await compiled.pull();
      } else {
        const compiled = nt.compile(step, { modules: [model, head], onFallback: (r) => assert.fail(`fell back: ${r}`) });
        for (let i = 0; i < 6; i++) losses.push(compiled(x, y).item());
      }
      return { losses, weights: [...lstm.parameters(), ...head.parameters()].map((p) => Float32Array.from(p.data as Float32Array)) };
    };
    const cpu = await run(false);
    const before = device.calls();
    const onGpu = await run(true);
    const after = device.calls();
    t.diagnostic(`per replay: ${(after.gpuCalls - before.gpuCalls) / 3} GPU calls, ${(after.cpuCalls - before.cpuCalls) / 3} CPU calls`);
    // The layout over time (permute, concat, sliceAdd) runs on the GPU too, and so do the host steps that copy a
    // gradient reaching two leaves and restore the zero state: left on the CPU are the inputs copied in and the labels' checks.
    assert.equal((after.cpuCalls - before.cpuCalls) / 3, 4);
    assert.ok(relErr(onGpu.losses, cpu.losses) < 1e-4, `losses ${onGpu.losses} against ${cpu.losses}`);
    for (const [i, w] of onGpu.weights.entries()) assert.ok(relErr(w, cpu.weights[i]) < 1e-4, `parameter ${i} differs by ${relErr(w, cpu.weights[i])}`);
  });

  /** fit() on the two spirals with dropout and an epoch's short last batch; the same seeds on any device. */
  async function spiralsFit(device: nt.FitOptions['device']) {
    nt.seed(3);
    const data = nt.twoSpirals(200, { noise: 0.05 });
    const model = new nt.nn.Sequential(
      new nt.nn.Linear(2, 32),
      new nt.nn.Tanh(),
      new nt.nn.Dropout(0.1),
      new nt.nn.Linear(32, 32),
      new nt.nn.ReLU(),
      new nt.nn.Linear(32, 2),
    );
    const lines: string[] = [];
    const history = await nt.fit(model, data, {
      loss: 'crossEntropy',
      optimizer: new nt.optim.Adam(model.parameters(), { lr: 0.03 }),
      epochs: 5,
      batchSize: 64,
      validationSplit: 0.2,
      metrics: ['accuracy'],
      generator: new nt.Generator(4),
      device,
      compile: true,
      log: (line) => lines.push(line),
    });
    return { history, lines, weights: model.parameters().map((p) => Float32Array.from(p.data as Float32Array)) };
  }

  test("fit({ device }): dropout, a short last batch and validation train as fit does on the CPU; the model's weights come back", async (t) => {
    const cpu = await spiralsFit('cpu');
    const before = device.calls();
    const onGpu = await spiralsFit(device);
    const calls = device.calls();
    assert.deepEqual(onGpu.lines, []);
    // 160 training samples: batches of 64, 64 and 32 (two signatures; each warms up over three epochs on the CPU).
    assert.ok(calls.gpuCalls - before.gpuCalls > 4 * 20, `${calls.gpuCalls - before.gpuCalls} GPU calls`);
    for (const key of ['loss', 'accuracy', 'valLoss', 'valAccuracy']) {
      const got = onGpu.history.get(key);
      const want = cpu.history.get(key);
      t.diagnostic(`${key}: ${got.map((v) => v.toFixed(4)).join(' ')}`);
      assert.ok(relErr(got, want) < 1e-4, `${key}: ${got} against ${want}`);
    }
    for (const [i, w] of onGpu.weights.entries()) assert.ok(relErr(w, cpu.weights[i]) < 1e-4, `parameter ${i} differs by ${relErr(w, cpu.weights[i])}`);
  });

  test("setBackend('webgpu') makes the GPU fit's device; eager operations stay on the CPU backend", async () => {
    const cpuBackend = nt.getBackend().name;
    const cpu = await spiralsFit('cpu');
    nt.setBackend('webgpu', { allowFallback: true });
    try {
      assert.equal(nt.getTrainingDevice(), 'webgpu');
      assert.equal(nt.getBackend().name, cpuBackend);
      const onGpu = await spiralsFit(undefined);
      assert.ok(relErr(onGpu.history.get('valLoss'), cpu.history.get('valLoss')) < 1e-4);
      await assert.rejects(
        nt.fit(
          new nt.nn.Linear(2, 2),
          { x: nt.zeros([4, 2]), y: nt.zeros([4, 2]) },
          { loss: 'mse', optimizer: (params) => new nt.optim.SGD(params, { lr: 0.1 }), compile: false },
        ),
        /a device runs compiled steps/,
      );
    } finally {
      nt.setBackend(cpuBackend);
    }
    assert.equal(nt.getTrainingDevice(), 'cpu');
  });

  test('evaluate and predict on the GPU give the CPU figures and outputs, over eight batches (the last one short)', async () => {
    nt.seed(8);
    const data = nt.twoSpirals(150, { noise: 0.05 });
    const model = new nt.nn.Sequential(new nt.nn.Linear(2, 24), new nt.nn.Tanh(), new nt.nn.Dropout(0.3), new nt.nn.Linear(24, 2));
    const options = { loss: 'crossEntropy', metrics: ['accuracy'], batchSize: 20 } as const;
    const cpu = await nt.evaluate(model, data, options);
    const before = device.calls().gpuCalls;
    const onGpu = await nt.evaluate(model, data, { ...options, device });
    assert.ok(device.calls().gpuCalls - before > 0, 'the forward passes replayed on the GPU');
    assert.ok(Math.abs(onGpu.loss - cpu.loss) < 1e-5, `loss ${onGpu.loss} against ${cpu.loss}`);
    assert.equal(onGpu.accuracy, cpu.accuracy);
    // Dropout is off in evaluation on the GPU too: two passes give one answer.
    const want = await nt.predict(model, data.x, { batchSize: 20 });
    for (let i = 0; i < 2; i++) {
      const got = await nt.predict(model, data.x, { batchSize: 20, device });
      assert.deepEqual(got.shape, [150, 2]);
      assert.ok(relErr(got.data as Float32Array, want.data as Float32Array) < 1e-5);
    }
    await assert.rejects(nt.predict(model, data.x, { device, compile: false }), /predict: a device runs compiled steps/);
    assert.ok(model.training, 'the modes are restored');
  });

  test("fit's NaN guard on the GPU reads one number per gradient, not the gradients, and still stops before a NaN update", async (t) => {
    /** Bytes downloaded per step between two batches late in the second epoch (replays only), with these extra callbacks. */
    const perStep = async (extra: nt.Callback[]) => {
      nt.seed(2);
      const data = nt.twoSpirals(80, { noise: 0.05 });
      const model = new nt.nn.Sequential(new nt.nn.Linear(2, 32), new nt.nn.Tanh(), new nt.nn.Linear(32, 32), new nt.nn.ReLU(), new nt.nn.Linear(32, 2));
      const marks: nt.GpuTransfers[] = [];
      const mark: nt.Callback = {
        onBatchEnd: (batch, _logs, ctx) => {
          if (ctx.epoch === 1 && (batch === 2 || batch === 7)) marks.push(device.transfers());
        },
      };
      await nt.fit(model, data, {
        loss: 'crossEntropy',
        optimizer: new nt.optim.Adam(model.parameters()),
        epochs: 2,
        batchSize: 8,
        device,
        callbacks: [mark, ...extra],
      });
      return (marks[1].bytesDown - marks[0].bytesDown) / 5;
    };
    const gradientBytes = (2 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2) * 4;
    const guarded = await perStep([]);
    // The loss (4 bytes), the batch's predictions (8 x 2 x 4) and six probes (4 each).
    assert.equal(guarded, 4 + 64 + 24);
    const reading = await perStep([{ onBeforeOptimizerStep: () => {} }]);
    assert.ok(reading >= gradientBytes, `${reading} bytes a step with a callback that may read p.grad`);
    t.diagnostic(`bytes down per step: ${guarded} with the NaN guard alone, ${reading} with another onBeforeOptimizerStep callback`);

    // sqrt(w·x)·0 is 0, but its gradient at w·x = 0 is NaN: the fifth batch (a replay) is all zeros.
    const w = new nt.nn.Linear(1, 1, { weightInit: 1, bias: false });
    const model = new nt.nn.Sequential(w, new nt.nn.Lambda((y: Tensor) => y.sqrt().mul(0)));
    const x = nt.tensor([...new Array(16).fill(1), 0, 0, 0, 0], { shape: [20, 1] });
    await assert.rejects(
      nt.fit(
        model,
        { x, y: nt.zeros([20, 1]) },
        { loss: 'mse', optimizer: new nt.optim.SGD(model.parameters(), { lr: 0.1 }), batchSize: 4, shuffle: false, device },
      ),
      (e: unknown) =>
        e instanceof nt.NonFiniteLossError &&
        /^TerminateOnNaN: the gradient of '0\.weight' \[1, 1\] has NaN or infinite values at epoch 1\/1, batch 5\/5 \(step 5\), though the loss is 0; the weights were not updated/.test(
          e.message,
        ),
    );
    assert.deepEqual(w.weight.toArray(), [[1]]);
  });

  test('the layer zoo trains on the GPU as on the CPU: batch norm, 1-D convolution, transposed convolution, layer norm, embedding + LSTM, GRU', async (t) => {
    const { nn } = nt;
    const last = (steps: number, size: number) =>
      new nn.Lambda((o: Tensor | Tensor[]) => (Array.isArray(o) ? o[0] : o).narrow(1, steps - 1, 1).reshape([-1, size]));
    const cases: Record<string, () => { model: nt.nn.Module; x: Tensor; y: Tensor }> = {
      'batch norm 1-D, dropout': () => ({
        model: new nn.Sequential(new nn.Linear(6, 16), new nn.BatchNorm1d(16), new nn.ReLU(), new nn.Dropout(0.2), new nn.Linear(16, 3)),
        x: nt.randn([48, 6]),
        y: nt.randint(0, 3, [48]),
      }),
      'batch norm 2-D, average pooling': () => ({
        model: new nn.Sequential(
          new nn.Conv2d(2, 4, 3, { padding: 1 }),
          new nn.BatchNorm2d(4),
          new nn.ReLU(),
          new nn.AvgPool2d(2),
          new nn.Flatten(),
          new nn.Linear(64, 3),
        ),
        x: nt.randn([48, 2, 8, 8]),
        y: nt.randint(0, 3, [48]),
      }),
      'conv1d, max pooling 1-D': () => ({
        model: new nn.Sequential(new nn.Conv1d(2, 4, 3), new nn.Tanh(), new nn.MaxPool1d(2), new nn.Flatten(), new nn.Linear(12, 2)),
        x: nt.randn([48, 2, 8]),
        y: nt.randint(0, 2, [48]),
      }),
      'transposed convolution': () => ({
        model: new nn.Sequential(new nn.ConvTranspose2d(2, 3, 2, { stride: 2 }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(192, 2)),
        x: nt.randn([48, 2, 4, 4]),
        y: nt.randint(0, 2, [48]),
      }),
      'layer norm': () => ({
        model: new nn.Sequential(new nn.Linear(5, 8), new nn.LayerNorm(8), new nn.Sigmoid(), new nn.Linear(8, 2)),
        x: nt.randn([48, 5]),
        y: nt.randint(0, 2, [48]),
      }),
      'embedding, LSTM': () => ({
        model: new nn.Sequential(new nn.Embedding(10, 6), new nn.LSTM(6, 8, { batchFirst: true }), last(5, 8), new nn.Linear(8, 3)),
        x: nt.randint(0, 10, [48, 5]),
        y: nt.randint(0, 3, [48]),
      }),
      GRU: () => ({
        model: new nn.Sequential(new nn.GRU(4, 6, { batchFirst: true }), last(3, 6), new nn.Linear(6, 2)),
        x: nt.randn([48, 3, 4]),
        y: nt.randint(0, 2, [48]),
      }),
    };
    for (const [name, make] of Object.entries(cases)) {
      const run = async (where: nt.FitOptions['device']) => {
        nt.seed(11);
        const { model, x, y } = make();
        const before = device.calls();
        const history = await nt.fit(
          model,
          { x, y },
          {
            loss: 'crossEntropy',
            // SGD, not Adam: a bias before batch norm has a zero gradient, whose rounding noise Adam would amplify into steps.
            optimizer: new nt.optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }),
            epochs: 3,
            batchSize: 8,
            generator: new nt.Generator(5),
            device: where,
            log: (line) => assert.fail(`${name}: ${line}`),
          },
        );
        const after = device.calls();
        return {
          losses: history.get('loss'),
          weights: model.parameters().flatMap((p) => Array.from(p.data as Float32Array)),
          cpuCalls: after.cpuCalls - before.cpuCalls,
        };
      };
      const cpu = await run('cpu');
      const onGpu = await run(device);
      // 18 steps, the last 15 replayed; the host steps left on the CPU are the inputs, the labels' checks, the NaN guard,
      // and per model a random mask (dropout), batch norm's count, or an embedding's index checks and backward (indexAdd).
      t.diagnostic(`${name}: ${onGpu.cpuCalls / 15} CPU calls per replay`);
      assert.ok(onGpu.cpuCalls / 15 <= 8, `${name}: ${onGpu.cpuCalls / 15} CPU calls per replay`);
      assert.ok(relErr(onGpu.losses, cpu.losses) < 1e-4, `${name}: losses ${onGpu.losses} against ${cpu.losses}`);
      assert.ok(relErr(onGpu.weights, cpu.weights) < 1e-4, `${name}: weights differ by ${relErr(onGpu.weights, cpu.weights)}`);
    }
  });

  /**
   * What `calls` calls of a step give when compiled for the CPU and, built again from the same seed, for the GPU's
   * executor: each side's losses and weights, and the calls each device made (the first three calls warm up and record
   * the step, the others replay it).
   */
  async function onCpuAndGpu(build: () => { step: (x: Tensor, y: Tensor) => Tensor; modules: nt.nn.Module[]; x: Tensor; y: Tensor }, calls: number) {
    const run = async (onGpu: boolean) => {
      const { step, modules, x, y } = build();
      const losses: number[] = [];
      const before = device.calls();
      const options = { modules, onFallback: (r: string) => assert.fail(`fell back: ${r}`) };
      if (onGpu) {
        const compiled = nt.compile(step, { ...options, executor: device.executor });
        for (let i = 0; i < calls; i++) losses.push((await compiled(x, y)).item());
        await compiled.pull();
      } else {
        const compiled = nt.compile(step, options);
        for (let i = 0; i < calls; i++) losses.push(compiled(x, y).item());
      }
      const after = device.calls();
      return {
        losses,
        weights: modules.flatMap((m) => m.parameters()).flatMap((p) => Array.from(p.data as Float32Array)),
        cpuCalls: after.cpuCalls - before.cpuCalls,
        gpuCalls: after.gpuCalls - before.gpuCalls,
      };
    };
    const cpu = await run(false);
    const onGpu = await run(true);
    assert.ok(relErr(onGpu.losses, cpu.losses) < 1e-4, `losses ${onGpu.losses} against ${cpu.losses}`);
    assert.ok(relErr(onGpu.weights, cpu.weights) < 1e-4, `weights differ by ${relErr(onGpu.weights, cpu.weights)}`);
    return { cpu, onGpu };
  }

  test('masks stay on the GPU: LeakyReLU, ELU, Hardtanh and a smooth-L1 loss (where, comparisons, casts) replay on the GPU, as on the CPU', async (t) => {
    const { nn } = nt;
    const { cpu, onGpu } = await onCpuAndGpu(() => {
      nt.seed(21);
      // 8 features and 64 rows: every bool mask the step makes is a whole number of words (see the replay's maskElement).
      const x = nt.randn([64, 8]);
      const y = x.narrow(1, 0, 1).mul(2).tanh();
      const model = new nn.Sequential(
        new nn.Linear(8, 16),
        new nn.LeakyReLU({ negativeSlope: 0.1 }),
        new nn.Linear(16, 16),
        new nn.ELU(),
        new nn.Linear(16, 8),
        new nn.Hardtanh(),
        new nn.Linear(8, 1),
      );
      const opt = new nt.optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
      const step = (xb: Tensor, yb: Tensor) => {
        opt.zeroGrad();
        const loss = nt.nn.functional.smoothL1Loss(model.call(xb) as Tensor, yb, { beta: 0.5 });
        loss.backward();
        opt.step();
        return loss;
      };
      return { step, modules: [model], x, y };
    }, 12);
    t.diagnostic(`per replay: ${onGpu.gpuCalls / 9} GPU calls, ${onGpu.cpuCalls / 9} CPU calls`);
    assert.ok(cpu.losses[11] < cpu.losses[0] * 0.95, `the network learns: ${cpu.losses[0]} to ${cpu.losses[11]}`);
    // Twelve calls: the first three record and check the step, the other nine replay it. The one call per replay left
    // on the CPU is the host step that takes the inputs in. Before the mask kernels every where, comparison and cast
    // of this step ran there too, its arrays downloaded and uploaded around each: 51 GPU and 25 CPU calls per replay.
    assert.equal(onGpu.cpuCalls / 9, 1, `${onGpu.cpuCalls / 9} calls per replay ran on the CPU`);
  });

  test('pow, atan2 and max unpooling replay on the GPU, forward and backward, as on the CPU', async (t) => {
    const { nn } = nt;
    const { cpu, onGpu } = await onCpuAndGpu(() => {
      nt.seed(8);
      // Positive inputs, so that pow's gradient (through log of the base) is finite.
      const x = nt.rand([4, 2, 6, 6]).add(0.5);
      const y = nt.randn([4, 2, 6, 6]);
      const conv = new nn.Conv2d(2, 2, 3, { padding: 1 });
      const pool = new nn.MaxPool2d(2);
      const unpool = new nn.MaxUnpool2d(2);
      const opt = new nt.optim.SGD(conv.parameters(), { lr: 0.05 });
      const step = (xb: Tensor, yb: Tensor) => {
        opt.zeroGrad();
        const h = conv.call(xb) as Tensor;
        const [pooled, switches] = pool.forwardWithIndices(h);
        const restored = unpool.forward(pooled, switches);
        const z = nt.atan2(restored, xb).add(h.abs().add(1).pow(h.tanh())).add(xb.pow(1.5));
        const d = z.sub(yb);
        const loss = d.mul(d).mean();
        loss.backward();
        opt.step();
        return loss;
      };
      return { step, modules: [conv], x, y };
    }, 8);
    t.diagnostic(`per replay: ${onGpu.gpuCalls / 5} GPU calls, ${onGpu.cpuCalls / 5} CPU calls`);
    assert.ok(cpu.losses[7] < cpu.losses[0], `the loss falls: ${cpu.losses[0]} to ${cpu.losses[7]}`);
    // Eight calls: three record and check the step, five replay it. Two calls per replay stay on the CPU: the host
    // step that takes the inputs in, and maxUnpool2d's check that every switch lies inside its output plane (an
    // error naming the bad switch, so it reads the 72 switches back). pow, atan2 and maxUnpool ran there too, with
    // their arrays moved each way, before they had GPU kernels.
    assert.equal(onGpu.cpuCalls / 5, 2, `${onGpu.cpuCalls / 5} calls per replay ran on the CPU`);
  });

  test('RMSprop (centered, with momentum), Adagrad and Adadelta update on the GPU with fused kernels, as on the CPU', async () => {
    const optimizers: Record<string, (params: nt.nn.Parameter[]) => nt.optim.Optimizer> = {
      RMSprop: (params) => new nt.optim.RMSprop(params, { lr: 0.01, centered: true, momentum: 0.5 }),
      Adagrad: (params) => new nt.optim.Adagrad(params, { lr: 0.05, lrDecay: 0.01 }),
      Adadelta: (params) => new nt.optim.Adadelta(params, { weightDecay: 0.001 }),
    };
    for (const [name, make] of Object.entries(optimizers)) {
      const run = async (where: nt.FitOptions['device']) => {
        nt.seed(6);
        const data = nt.twoSpirals(100, { noise: 0.05 });
        const model = new nt.nn.Sequential(new nt.nn.Linear(2, 16), new nt.nn.Tanh(), new nt.nn.Linear(16, 2));
        const before = device.calls();
        const history = await nt.fit(model, data, { loss: 'crossEntropy', optimizer: make(model.parameters()), epochs: 3, batchSize: 20, device: where });
        const after = device.calls();
        return {
          losses: history.get('loss'),
          weights: model.parameters().flatMap((p) => Array.from(p.data as Float32Array)),
          fused: after.fusedHostSteps - before.fusedHostSteps,
          cpuCalls: after.cpuCalls - before.cpuCalls,
        };
      };
      const cpu = await run('cpu');
      const onGpu = await run(device);
      // 15 steps, 12 replayed, each update a fused step on the GPU; left on the CPU: the inputs, the labels' checks, the NaN guard.
      assert.equal(onGpu.fused, 12, name);
      assert.equal(onGpu.cpuCalls / 12, 5, name);
      assert.ok(relErr(onGpu.losses, cpu.losses) < 1e-4, `${name}: losses ${onGpu.losses} against ${cpu.losses}`);
      assert.ok(relErr(onGpu.weights, cpu.weights) < 1e-4, `${name}: weights differ by ${relErr(onGpu.weights, cpu.weights)}`);
    }
  });

  test('fit on the GPU with an optimizer that cannot be compiled (L-BFGS) says so once and trains on the CPU', async () => {
    nt.seed(1);
    const model = new nt.nn.Linear(3, 1);
    const x = nt.randn([32, 3]);
    const y = x.matmul(nt.tensor([[1], [-2], [0.5]]));
    const lines: string[] = [];
    const history = await nt.fit(
      model,
      { x, y },
      { loss: 'mse', optimizer: new nt.optim.LBFGS(model.parameters()), epochs: 3, batchSize: 32, device, log: (l) => lines.push(l) },
    );
    assert.deepEqual(lines, ['fit: compile: the training step runs eagerly on the CPU: the optimizer (LBFGS) evaluates the loss itself']);
    const losses = history.get('loss');
    assert.ok(losses[2] < losses[0] * 0.1, `${losses}`);
  });
});
