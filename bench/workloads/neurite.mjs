// neurite side of `npm run bench`: the workloads of bench/pytorch_peer.py with
// the same architectures, optimizers, batch sizes, float32 data and timing.
//
// Usage: node bench/workloads/neurite.mjs '{"backend": "native"|"ref", "seconds": 2,
//   "workloads": [...], "sgemm": {id: [m, k, n, transA, transB]}}'
// or '{"probe": true}' to list the backends. Prints one JSON object as its last line.
// "backend": "webgpu" (bench/browser.mjs --webgpu) trains through compiled steps
// replayed on the GPU (the executor of openWebGpu, "allowFallback" for a
// software adapter), each step reading its loss back, awaited.
import { readFileSync } from 'node:fs';
import { loadNativeAddon, nativeLoadError } from '../../dist/src/backends/native/binding.js';
import { refBackend } from '../../dist/src/backends/ref/index.js';
import * as nt from '../../dist/src/index.js';
import { GpuKernels } from '../../dist/src/backends/webgpu/kernels.js';
import { emit, loadMnist, measure, parseArgs, TRAIN_IMAGES, timed, timedAsync } from '../common.mjs';

const { nn, optim } = nt;
const F = nn.functional;

const args = parseArgs();

if (args.probe) {
  const addon = loadNativeAddon();
  emit({
    version: JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version,
    backends: nt.listBackends(),
    describe: Object.fromEntries(
      nt.listBackends().map((name) => {
        nt.setBackend(name);
        return [name, nt.getBackend().describe()];
      }),
    ),
    addon: addon ? addon.cpuFeatures() : null,
    addonError: addon ? null : nativeLoadError(),
    layers: { conv: typeof nn.Conv2d === 'function' && typeof nn.MaxPool2d === 'function', lstm: typeof nn.LSTM === 'function' },
  });
  process.exit(0);
}

// The GPU takes whole compiled steps; the CPU backend (the default one) records them.
const gpu = args.backend === 'webgpu' ? await nt.openWebGpu({ allowFallback: args.allowFallback === true }) : null;
const backendRegistered = gpu !== null || nt.listBackends().includes(args.backend);
if (backendRegistered && !gpu) nt.setBackend(args.backend);
// The Node runner sets NEURITE_NUM_THREADS; a page (bench/browser.mjs) passes the count here.
if (backendRegistered && args.threads) nt.setNumThreads(args.threads);
if (backendRegistered) await nt.backendReady();
const results = {
  backend: args.backend,
  describe: backendRegistered ? nt.getBackend().describe() : null,
};
if (gpu) {
  const a = gpu.adapter;
  results.adapter = `${a.vendor} ${a.architecture} ${a.description}`.trim();
  results.fallbackAdapter = a.isFallbackAdapter;
}

/** Why a neural-network workload cannot run here, or null. */
function unavailable(workload) {
  if (!backendRegistered) {
    const why = args.backend === 'native' ? `: ${nativeLoadError() ?? 'the addon loads but no native backend is registered'}` : '';
    return `not available: backend '${args.backend}' is not registered (available: ${nt.listBackends().join(', ')})${why}`;
  }
  if (workload === 'lenet5' && (typeof nn.Conv2d !== 'function' || typeof nn.MaxPool2d !== 'function')) {
    return 'not available: nn.Conv2d / nn.MaxPool2d are missing';
  }
  if (workload === 'lstm' && typeof nn.LSTM !== 'function') return 'not available: nn.LSTM is missing';
  return null;
}

/**
 * The training slice cut into batches once, as tensors of shape
 * [batch, ...sampleShape]: PyTorch slices views of one tensor at no cost, so
 * neither library pays for batch assembly inside the timed loop.
 */
function batches(batch, sampleShape) {
  const { images, labels } = loadMnist(TRAIN_IMAGES);
  const per = sampleShape.reduce((a, b) => a * b, 1);
  const out = [];
  for (let i = 0; i + batch <= TRAIN_IMAGES; i += batch) {
    out.push({
      x: nt.tensor(images.subarray(i * per, (i + batch) * per), { shape: [batch, ...sampleShape], dtype: 'float32' }),
      y: nt.tensor(labels.subarray(i, i + batch), { shape: [batch], dtype: 'int32' }),
    });
  }
  return out;
}

/**
 * `step` as measured: itself, or with `"compile": true` compiled by nt.compile
 * (the warm-up steps cover its three eager calls). Throws when it would run
 * eagerly, so that a compiled figure is never an eager one.
 */
function prepared(step, modules) {
  if (!args.compile && !gpu) return step;
  const compiled = nt.compile(step, {
    modules,
    ...(gpu ? { executor: gpu.executor } : {}),
    // bench/fusion.mjs passes "fuse": false to measure the same plans without fusion.
    fuse: args.fuse ?? true,
    onFallback: (reason) => {
      throw new Error(`compile fell back to eager: ${reason}`);
    },
  });
  // The plan's memory, reported per workload (the runner prints lenet5's against issue 14's target).
  compiledSteps.push(compiled);
  return compiled;
}
const compiledSteps = [];

/** Samples per second of SGD/Adam training with softmax cross-entropy, cycling through the batches. */
function trainRate(forward, optimizer, data, warmup, modules) {
  let i = 0;
  const train = prepared((x, y) => {
    optimizer.zeroGrad();
    const loss = F.crossEntropy(forward(x), y);
    loss.backward();
    optimizer.step();
    return loss;
  }, modules);
  if (gpu) {
    // A replay on the GPU resolves when its outputs (the loss) are back.
    const gpuStep = async () => {
      const { x, y } = data[i];
      i = (i + 1) % data.length;
      await train(x, y);
    };
    return timedAsync(gpuStep, args.seconds, warmup, data[0].x.shape[0]);
  }
  const step = () => {
    const { x, y } = data[i];
    i = (i + 1) % data.length;
    train(x, y);
  };
  return timed(step, args.seconds, warmup, data[0].x.shape[0]);
}

function mlpWide() {
  return new nn.Sequential(new nn.Linear(784, 512), new nn.ReLU(), new nn.Linear(512, 512), new nn.ReLU(), new nn.Linear(512, 10));
}

function lenet5() {
  return new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(6, 16, 5),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(400, 120),
    new nn.ReLU(),
    new nn.Linear(120, 84),
    new nn.ReLU(),
    new nn.Linear(84, 10),
  );
}

/** LSTM(28 -> 128) over the 28 rows of each image, its last hidden state into Linear(128, 10). */
function lstmNet() {
  const lstm = new nn.LSTM(28, 128, { batchFirst: true });
  const fc = new nn.Linear(128, 10);
  if (lstm.batchFirst !== true) throw new Error('nn.LSTM ignored the batchFirst option');
  const forward = (x) => {
    const out = lstm.call(x);
    const seq = Array.isArray(out) ? out[0] : out;
    if (seq.shape.length !== 3 || seq.shape[1] !== 28 || seq.shape[2] !== 128) {
      throw new Error(`LSTM(28, 128, {batchFirst: true}) on [64, 28, 28] returned [${seq.shape}], expected [64, 28, 128]`);
    }
    return fc.call(seq.slice(null, -1));
  };
  return { forward, parameters: [...lstm.parameters(), ...fc.parameters()], modules: [lstm, fc] };
}

/**
 * GFLOP/s of one product through the matmul kernel the engine dispatches to
 * (the one Tensor.matmul and Linear use): the backend's own, or the
 * reference's when the backend has none.
 */
function gemmRate([m, k, n, transA, transB]) {
  const rand = (len) => Float32Array.from({ length: len }, (_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  // Tensor storage, as a model's weights and activations are: where the backend keeps it (the wasm module's memory).
  const a = nt.tensor(rand(m * k)).data;
  const b = nt.tensor(rand(k * n)).data;
  const c = nt.zeros([m * n]).data;
  const flops = 2 * m * n * k;
  if (gpu) {
    // The GPU's GEMM kernel, its product read back each time (as the peer's data() does).
    const device = gpu.executor.device;
    const kernels = new GpuKernels(device);
    const [ga, gb, gc] = [device.upload(a), device.upload(b), device.empty(m * n)];
    return timedAsync(
      async () => {
        kernels.matmul(ga, gb, gc, 1, m, n, k, transA, transB);
        await device.read(gc);
      },
      args.seconds,
      3,
      flops,
    ).then((rate) => rate / 1e9);
  }
  if (backendRegistered) {
    let matmul = nt.getBackend().kernels.matmul;
    if (!matmul) {
      matmul = refBackend.kernels.matmul;
      results.sgemmVia = `the reference matmul kernel (backend '${args.backend}' has none of its own)`;
    }
    return timed(() => matmul(a, b, c, 1, m, n, k, transA, transB), args.seconds, 3, flops) / 1e9;
  }
  // No native backend registered, but the addon may load: measure its sgemm, the kernel a native backend calls.
  const addon = args.backend === 'native' ? loadNativeAddon() : null;
  if (!addon) throw new Error(unavailable('sgemm'));
  results.sgemmVia = 'the addon sgemm called directly (no native backend registered)';
  const lda = transA ? m : k;
  const ldb = transB ? k : n;
  return timed(() => addon.sgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, n), args.seconds, 3, flops) / 1e9;
}

for (const w of args.workloads) {
  await measure(results, w, async () => {
    nt.seed(0);
    if (w.startsWith('sgemm-')) return gemmRate(args.sgemm[w]);
    const missing = unavailable(w);
    if (missing) return { error: missing, unavailable: true };
    if (w === 'mlp-small') {
      const m = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
      return trainRate((x) => m.forward(x), new optim.SGD(m.parameters(), { lr: 0.1 }), batches(64, [784]), 20, [m]);
    }
    if (w === 'mlp-wide') {
      const m = mlpWide();
      return trainRate((x) => m.forward(x), new optim.Adam(m.parameters(), { lr: 1e-3 }), batches(128, [784]), 10, [m]);
    }
    if (w === 'lenet5') {
      const m = lenet5();
      const opt = new optim.SGD(m.parameters(), { lr: 0.05, momentum: 0.9 });
      return trainRate((x) => m.forward(x), opt, batches(64, [1, 28, 28]), 5, [m]);
    }
    if (w === 'mlp-sigmoid-tanh') {
      // bench/fusion.mjs only: activations whose gradients are chains of element-wise kernels (g * s * (1 - s), g * (1 - t^2)).
      const m = new nn.Sequential(new nn.Linear(784, 512), new nn.Sigmoid(), new nn.Linear(512, 512), new nn.Tanh(), new nn.Linear(512, 10));
      return trainRate((x) => m.forward(x), new optim.Adam(m.parameters(), { lr: 1e-3 }), batches(128, [784]), 10, [m]);
    }
    if (w === 'lstm') {
      const m = lstmNet();
      return trainRate(m.forward, new optim.Adam(m.parameters, { lr: 1e-3 }), batches(64, [28, 28]), 3, m.modules);
    }
    if (w === 'xor-tiny') {
      const m = new nn.Sequential(new nn.Linear(2, 2), new nn.Sigmoid(), new nn.Linear(2, 1), new nn.Sigmoid());
      const x = nt.tensor([
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
      ]);
      const y = nt.tensor([[0], [1], [1], [0]]);
      const opt = new optim.SGD(m.parameters(), { lr: 0.5 });
      const train = prepared(() => {
        opt.zeroGrad();
        const loss = F.mseLoss(m.forward(x), y);
        loss.backward();
        opt.step();
        return loss;
      }, [m]);
      // The workload reads the loss back every step, in every library.
      const step = () => train().item();
      return timed(step, args.seconds, 100, 1);
    }
    if (w === 'two-spirals') {
      // The README's example (bench/browser.mjs measures it in Chromium): full-batch Adam steps through fit().
      const train = nt.twoSpirals(400, { noise: 0.05 });
      const model = new nn.Sequential(new nn.Linear(2, 32), new nn.Tanh(), new nn.Linear(32, 32), new nn.Tanh(), new nn.Linear(32, 2));
      const optimizer = new optim.Adam(model.parameters(), { lr: 0.01 });
      const epochs = (n) => nt.fit(model, train, { loss: 'crossEntropy', optimizer, epochs: n, batchSize: 400, verbose: 0 });
      await epochs(20);
      const start = performance.now();
      let steps = 0;
      while (performance.now() - start < args.seconds * 1000) {
        await epochs(20);
        steps += 20;
      }
      return (steps * 1000) / (performance.now() - start);
    }
    if (w.startsWith('inference-')) {
      const batch = Number(w.split('-')[1]);
      const m = mlpWide();
      m.eval();
      const { images } = loadMnist(batch);
      const x = nt.tensor(images, { shape: [batch, 784], dtype: 'float32' });
      const infer = prepared((input) => m.forward(input), [m]);
      return timed(() => nt.noGrad(() => infer(x)), args.seconds, 20, batch);
    }
    throw new Error(`unknown workload '${w}'`);
  });
  const last = compiledSteps.at(-1);
  if (last?.stats.memory) results.compileMemory = { ...results.compileMemory, [w]: { ...last.stats.memory, replays: last.stats.replays } };
  if (last?.stats.plan) results.compilePlan = { ...results.compilePlan, [w]: last.stats.plan };
}
emit(results);
