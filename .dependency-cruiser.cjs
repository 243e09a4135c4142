// The layering of src/, written once. Each floor may import the floors below
// it and never one above; `npm run check:layers` (part of `npm test`) fails on
// any upward import, type-only ones included, and on any runtime import loop.
//
// Why this order:
//   core        dtype, shape, errors, RNG, the Tensor handle, the engine: imports nothing of neurite
//   autograd    recording ops on tensors and the backward sweep (needs only the Tensor)
//   kernels     one file per primitive (forward, shape rule, gradient) and the compute contract
//   backends    implementations of the contract (ref: the spec; native: the addon); they register themselves
//   ops         composites built from primitives, and the one door to kernels for everything above
//   methods     installs Tensor's methods (declared in core) from ops
//   transforms  grad, jacobian, hessian, gradcheck: functions of functions, built on backward and ops
//   nn          Module, layers, losses, initialisers, graph models
//   optim       optimizers (their rules) and schedules; they update nn's parameters
//   compile     compiled steps: a step (forward, backward, optimizer update) traced once and replayed on planned storage
//   data        datasets, loaders, IDX/MNIST, CSV, toy sets, augmentation
//   train       fit/evaluate/predict, callbacks, metrics, model selection (uses nn, optim, data)
//   io          saving and loading models, weights and checkpoints (of nn and optim)
//   models      the notes' canonical networks (LeNet-5, AlexNet, VGG, GoogLeNet, ResNet) built from nn, their weights loaded through io
//   onnx        ONNX export and import of nn's layers and graphs (and of the models' networks, through their graph())
//   distributed training as several replicas: strategies fit runs, their collectives, the launcher (Node: worker_threads)
//   cli         the neurite command, on top of everything
// The entries sit above all of them: src/api.ts (the public API), src/index.ts (Node)
// and src/index.browser.ts (browsers).
const LAYERS = ['core', 'autograd', 'kernels', 'backends', 'ops', 'methods', 'transforms', 'nn', 'optim', 'compile', 'data', 'train', 'io', 'models', 'onnx', 'distributed', 'cli'];

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `no-upward-from-${layer}`,
  comment: `src/${layer} is below ${LAYERS.slice(i + 1).join(', ')} and must not import them`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${LAYERS.slice(i + 1).join('|')})/` },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'no-import-loop',
      comment: 'A runtime import loop means module order matters; break it by moving code to the floor where it belongs',
      severity: 'error',
      from: { path: '^src/' },
      // Type-only imports vanish at run time, so a cycle that passes through one is no loop.
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'ops-is-the-door',
      comment: 'Above ops/, kernels are reached through ops/ (ops/primitives.ts for expert primitives), never directly',
      severity: 'error',
      from: { path: `^src/(${LAYERS.slice(LAYERS.indexOf('ops') + 1).join('|')})/` },
      to: { path: '^src/kernels/' },
    },
    {
      name: 'backends-are-chosen-not-imported',
      comment: 'Only the entries and the command line (--backend) touch a backend; the rest computes through the engine',
      severity: 'error',
      from: { path: `^src/(${LAYERS.slice(LAYERS.indexOf('ops') + 1, -1).join('|')})/` },
      to: { path: '^src/backends/' },
    },
    {
      name: 'no-entry-import',
      comment: 'The entries are the public API; only the command line, a consumer of it, imports them',
      severity: 'error',
      from: { path: '^src/.+/', pathNot: '^src/cli/' },
      to: { path: '^src/(index|index\\.browser|api)\\.ts$' },
    },
    {
      name: 'playground-uses-the-public-api',
      comment: 'The playground app is a consumer: it reaches neurite only through the published browser entry (playground/src/neurite.ts re-exports it)',
      severity: 'error',
      from: { path: '^playground/' },
      to: { path: '^src/', pathNot: '^src/index\\.browser\\.ts$' },
    },
    {
      name: 'playground-model-code-has-no-dom',
      comment: 'Only the pages (main, mnist-main and what they use to draw) touch the DOM; the training side runs in a worker and in Node',
      severity: 'error',
      from: { path: '^playground/src/(engine|session|datasets|spec|grid|worker|expr|mnist-engine|mnist-worker|mnist-pre)\\.ts$' },
      to: { path: '^playground/src/(main|client|render|compare|diagram|element|mnist-main)\\.ts$' },
    },
    {
      name: 'every-file-in-a-layer',
      comment: 'Each source file lives in one of the layer folders, or is an entry',
      severity: 'error',
      from: { path: '^src/', pathNot: `^src/((index|index\\.browser|api)\\.ts$|(${LAYERS.join('|')})/)` },
      to: {},
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|test|bench|examples)/' },
  },
};
