// The experiment as a typed value, and its URL-hash form. Pure: no DOM and no
// neurite, so the parser and the round trip are tested in Node.
//
// Two modes share one Spec:
// - 'compat' reproduces playground.tensorflow.org (MSE on a tanh output, plain
//   SGD with its batch leftovers, U(±0.5) weights drawn from its seeded
//   stream). Any hash without our `mode` key is read as one of its links.
// - 'default' fixes its quirks: cross-entropy, Adam, a separate init seed,
//   Reset restoring the same weights, the limits enforced everywhere.

import { tryCompile } from './expr.js';

export const ACTIVATIONS = [
  'tanh',
  'relu',
  'sigmoid',
  'linear',
  // Hagan's table by name (seed 001)
  'hardlim',
  'hardlims',
  'purelin',
  'satlin',
  'satlins',
  'logsig',
  'tansig',
  'poslin',
  'compet',
  // and what the original's users asked for
  'leakyrelu',
  'elu',
  'selu',
  'gelu',
  'softplus',
  'softsign',
  'swish',
  'mish',
  'sine',
  'gaussian',
] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export const CLASSIFY_DATASETS = ['circle', 'xor', 'gauss', 'spiral', 'moons', 'checkerboard', 'boundary', 'user'] as const;
export type ClassifyDataset = (typeof CLASSIFY_DATASETS)[number];
export const REGRESS_DATASETS = ['reg-plane', 'reg-gauss', 'user'] as const;
export type RegressDataset = (typeof REGRESS_DATASETS)[number];
/** 1-D regression (problem 'curve'): a function of x1 drawn as a curve. */
export const CURVE_DATASETS = ['sin', 'abs', 'step', 'cubic'] as const;
export type CurveDataset = (typeof CURVE_DATASETS)[number];
export const PROBLEMS = ['classification', 'regression', 'curve'] as const;
export type ProblemName = (typeof PROBLEMS)[number];
/** At most this many custom input features. */
export const MAX_CUSTOM_FEATURES = 4;
/** The input features that depend on x1 alone: the ones a 1-D curve can use. */
export const X1_FEATURES = ['x', 'xSquared', 'sinX'] as const;

export const LOSSES = ['bce', 'mse', 'hinge'] as const;
export type LossName = (typeof LOSSES)[number];
export const OPTIMIZERS = ['sgd', 'momentum', 'nesterov', 'adagrad', 'adadelta', 'rmsprop', 'adam', 'lbfgs'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
export const INITS = ['uniform', 'glorot', 'he', 'lecun', 'zeros'] as const;
export type InitName = (typeof INITS)[number];
export const SCHEDULES = ['constant', 'step', 'exponential', 'cosine', 'cyclic', 'warmup'] as const;
export type ScheduleName = (typeof SCHEDULES)[number];
export const REGULARIZATIONS = ['none', 'L1', 'L2'] as const;
export type RegularizationName = (typeof REGULARIZATIONS)[number];

/** The input features in the original's order (its INPUTS object's key order). */
export const FEATURES = ['x', 'y', 'xSquared', 'ySquared', 'xTimesY', 'sinX', 'sinY'] as const;
export type FeatureName = (typeof FEATURES)[number];

export const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10] as const;
export const REGULARIZATION_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10] as const;

/** The UI's limits per mode: the original's in compat mode, wider ones otherwise. */
export const LIMITS = {
  compat: { layers: 6, neurons: 8, batch: 30 },
  default: { layers: 10, neurons: 32, batch: 100 },
} as const;

export interface Spec {
  mode: 'default' | 'compat';
  /** classification and regression over the plane, or 'curve': 1-D regression of y on x1. */
  problem: ProblemName;
  dataset: ClassifyDataset;
  regDataset: RegressDataset;
  curveDataset: CurveDataset;
  /** The "y > f(x)" dataset's f, an expression of x1. */
  boundary: string;
  /** Input features beyond the seven, as expressions of x1 and x2 (default mode). */
  customFeatures: string[];
  /** Number of classes for classification: 2 (one output) or 3–5 (softmax). */
  classes: number;
  /** Noise in percent, 0–50 in steps of 5 (the original's slider). */
  noise: number;
  /** Percent of the points used for training, 10–90 in steps of 10. */
  percTrainData: number;
  batchSize: number;
  learningRate: number;
  /** The hidden layers' activation (every layer, unless layerActivations names one). */
  activation: ActivationName;
  /** Per-layer activation overrides; an empty string keeps `activation`. */
  layerActivations: string[];
  networkShape: number[];
  /** Dropout probability per hidden layer (0 = none). */
  dropout: number[];
  /** Batch normalisation after each hidden layer's linear map. */
  batchNorm: boolean[];
  regularization: RegularizationName;
  regularizationRate: number;
  features: Record<FeatureName, boolean>;
  /** The data seed (the original's `seed`: a string such as 0.12345). */
  seed: string;
  /** The weight-initialisation seed (default mode; compat draws weights from the data stream). */
  initSeed: string;
  loss: LossName;
  optimizer: OptimizerName;
  /** SGD with momentum and Nesterov. */
  momentum: number;
  /** Adam's moment decays. */
  beta1: number;
  beta2: number;
  /** RMSprop's squared-gradient decay. */
  alpha: number;
  /** Adadelta's decay. */
  rho: number;
  init: InitName;
  schedule: ScheduleName;
  /** Early stopping: epochs without a better test loss before pausing (0 = off). */
  patience: number;
  /** Pause when this epoch is reached (0 = never). */
  stopAt: number;
  /** Replay target: after loading, train to this epoch (0 = none). */
  epoch: number;
  showTestData: boolean;
  discretize: boolean;
  /**
   * A/B comparison: run B's hash (without '#'), or '' for none. B trains on A's
   * data (the same dataset, noise, split and data seed); the rest is its own.
   */
  compare: string;
  /** The network drawn compact (the original's) or as in the lecture notes. */
  diagram: 'compact' | 'lecture';
  // Kept only so that an original link round-trips: they change nothing here.
  initZero: boolean;
  hideText: boolean;
  collectStats: boolean;
  tutorial: string;
  cosX: boolean;
  cosY: boolean;
  /** Classroom mode: `<control>_hide=true` keys. */
  hidden: string[];
}

export function defaultSpec(mode: Spec['mode'] = 'default'): Spec {
  const compat = mode === 'compat';
  return {
    mode,
    problem: 'classification',
    dataset: 'circle',
    regDataset: 'reg-plane',
    curveDataset: 'sin',
    boundary: '3*sin(x1)',
    customFeatures: [],
    classes: 2,
    noise: 0,
    percTrainData: 50,
    batchSize: 10,
    learningRate: 0.03,
    activation: 'tanh',
    layerActivations: ['', ''],
    networkShape: [4, 2],
    dropout: [0, 0],
    batchNorm: [false, false],
    regularization: 'none',
    regularizationRate: 0,
    features: { x: true, y: true, xSquared: false, ySquared: false, xTimesY: false, sinX: false, sinY: false },
    // Empty: the app draws one at load (the original's Math.random().toFixed(5)) and writes it to the URL.
    seed: '',
    initSeed: '',
    loss: compat ? 'mse' : 'bce',
    optimizer: compat ? 'sgd' : 'adam',
    momentum: 0.9,
    beta1: 0.9,
    beta2: 0.999,
    alpha: 0.99,
    rho: 0.9,
    init: compat ? 'uniform' : 'glorot',
    schedule: 'constant',
    patience: 0,
    stopAt: 0,
    epoch: 0,
    showTestData: false,
    discretize: false,
    diagram: 'compact',
    compare: '',
    initZero: false,
    hideText: false,
    collectStats: false,
    tutorial: '',
    cosX: false,
    cosY: false,
    hidden: [],
  };
}

/** The controls a teacher can hide (the original's `<id>_hide=true` keys): the id and what it is. */
export const HIDEABLE: readonly [string, string][] = [
  ['learningRate', 'Learning rate'],
  ['activation', 'Activation'],
  ['regularization', 'Regularization'],
  ['regularizationRate', 'Regularization rate'],
  ['problem', 'Problem type'],
  ['loss', 'Loss'],
  ['optimizer', 'Optimizer'],
  ['init', 'Initializer'],
  ['schedule', 'LR schedule'],
  ['classes', 'Classes'],
  ['percTrainData', 'Ratio of training to test data'],
  ['noise', 'Noise'],
  ['batchSize', 'Batch size'],
  ['regenerate', 'Regenerate'],
  ['numHiddenLayers', 'Adding and removing layers'],
  ...FEATURES.map((f): [string, string] => [f, `Input feature ${f}`]),
  ['showTestData', 'Show test data'],
  ['discretize', 'Discretize output'],
];

/** Each optimizer's own hyper-parameters (beyond the learning rate), the menu offered for each, and its URL key. */
export const OPTIMIZER_HYPERS: Record<
  OptimizerName,
  readonly { key: 'momentum' | 'beta1' | 'beta2' | 'alpha' | 'rho'; label: string; options: readonly number[] }[]
> = {
  sgd: [],
  momentum: [{ key: 'momentum', label: 'Momentum', options: [0, 0.5, 0.9, 0.95, 0.99] }],
  nesterov: [{ key: 'momentum', label: 'Momentum', options: [0.5, 0.9, 0.95, 0.99] }],
  adagrad: [],
  adadelta: [{ key: 'rho', label: 'ρ (decay)', options: [0.8, 0.9, 0.95, 0.99] }],
  rmsprop: [{ key: 'alpha', label: 'α (decay)', options: [0.9, 0.95, 0.99, 0.999] }],
  adam: [
    { key: 'beta1', label: 'β₁', options: [0, 0.5, 0.8, 0.9, 0.95, 0.99] },
    { key: 'beta2', label: 'β₂', options: [0.99, 0.999, 0.9999] },
  ],
  lbfgs: [],
};

/** The limits the current mode enforces. */
export function limitsOf(spec: Pick<Spec, 'mode'>): { layers: number; neurons: number; batch: number } {
  return LIMITS[spec.mode];
}

export interface Parsed {
  spec: Spec;
  /** One line per value that was out of range or unreadable, naming the key and what was used instead. */
  warnings: string[];
}

// The original's keys, in its PROPS order; ours follow.
const ORIGINAL_KEYS = [
  'activation',
  'regularization',
  'batchSize',
  'dataset',
  'regDataset',
  'learningRate',
  'regularizationRate',
  'noise',
  'networkShape',
  'seed',
  'showTestData',
  'discretize',
  'percTrainData',
  'x',
  'y',
  'xTimesY',
  'xSquared',
  'ySquared',
  'cosX',
  'sinX',
  'cosY',
  'sinY',
  'collectStats',
  'tutorial',
  'problem',
  'initZero',
  'hideText',
] as const;

function splitHash(hash: string): Map<string, string> {
  const map = new Map<string, string>();
  const body = hash.startsWith('#') ? hash.slice(1) : hash;
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    let value = eq < 0 ? '' : pair.slice(eq + 1);
    try {
      value = decodeURIComponent(value);
    } catch {
      // A stray % is kept as typed; the value check below reports it.
    }
    map.set(key, value);
  }
  return map;
}

/** True when a hash is one of playground.tensorflow.org's (it has keys but no `mode`). */
export function isOriginalHash(hash: string): boolean {
  const map = splitHash(hash);
  return !map.has('mode') && [...map.keys()].some((k) => (ORIGINAL_KEYS as readonly string[]).includes(k));
}

/**
 * Read a URL hash into a Spec. Unknown or out-of-range values fall back to the
 * default or are clamped, each with a warning; the result never holds NaN.
 */
export function parseHash(hash: string): Parsed {
  const map = splitHash(hash);
  const mode: Spec['mode'] = map.get('mode') === 'compat' || (!map.has('mode') && isOriginalHash(hash)) ? 'compat' : 'default';
  const spec = defaultSpec(mode);
  const warnings: string[] = [];
  const lim = limitsOf(spec);
  if (map.has('mode') && !['compat', 'default'].includes(map.get('mode') as string)) {
    warnings.push(`mode: "${map.get('mode')}" is not compat or default; using default`);
  }

  const has = (k: string) => map.has(k) && (map.get(k) as string).trim() !== '';
  const str = (k: string) => map.get(k) as string;
  const oneOf = <T extends string>(k: string, allowed: readonly T[], set: (v: T) => void) => {
    if (!has(k)) return;
    const v = str(k);
    if ((allowed as readonly string[]).includes(v)) set(v as T);
    else warnings.push(`${k}: "${v}" is not one of ${allowed.join(', ')}; kept the default`);
  };
  const num = (k: string, min: number, max: number, set: (v: number) => void, integer = false) => {
    if (!has(k)) return;
    const v = Number(str(k));
    if (!Number.isFinite(v)) {
      warnings.push(`${k}: "${str(k)}" is not a number; kept the default`);
      return;
    }
    let c = Math.min(max, Math.max(min, v));
    if (integer) c = Math.round(c);
    if (c !== v) warnings.push(`${k}: ${v} is outside ${min}–${max}${integer ? ' (whole numbers)' : ''}; using ${c}`);
    set(c);
  };
  const nearest = (k: string, options: readonly number[], set: (v: number) => void) =>
    num(k, options[0], options[options.length - 1], (v) => {
      const best = options.reduce((a, b) => (Math.abs(b - v) < Math.abs(a - v) ? b : a));
      // The original accepts any number from its URL; a compat link keeps it exactly.
      if (spec.mode === 'default' && best !== v) warnings.push(`${k}: ${v} is not on the menu; using ${best}`);
      set(spec.mode === 'compat' ? v : best);
    });
  const bool = (k: string, set: (v: boolean) => void) => {
    if (has(k)) set(str(k) !== 'false');
  };

  oneOf('problem', spec.mode === 'compat' ? (['classification', 'regression'] as const) : PROBLEMS, (v) => {
    spec.problem = v;
  });
  oneOf('activation', ACTIVATIONS, (v) => {
    spec.activation = v;
  });
  if (map.has('regularization')) oneOf('regularization', REGULARIZATIONS, (v) => (spec.regularization = v));
  oneOf('dataset', CLASSIFY_DATASETS, (v) => {
    spec.dataset = v;
  });
  oneOf('regDataset', REGRESS_DATASETS, (v) => {
    spec.regDataset = v;
  });
  if (spec.mode === 'default') {
    oneOf('curveDataset', CURVE_DATASETS, (v) => {
      spec.curveDataset = v;
    });
    if (has('boundary')) {
      const c = tryCompile(str('boundary'), { x1Only: true });
      if (typeof c === 'string') warnings.push(`boundary: ${c}; kept ${spec.boundary}`);
      else spec.boundary = c.source;
    }
    if (has('custom')) {
      const list = str('custom').split(';');
      if (list.length > MAX_CUSTOM_FEATURES)
        warnings.push(`custom: ${list.length} features is more than ${MAX_CUSTOM_FEATURES}; kept the first ${MAX_CUSTOM_FEATURES}`);
      for (const text of list.slice(0, MAX_CUSTOM_FEATURES)) {
        const c = tryCompile(text);
        if (typeof c === 'string') warnings.push(`custom feature ${c}; dropped it`);
        else spec.customFeatures.push(c.source);
      }
    }
  } else if (map.get('dataset') === 'boundary') {
    warnings.push('dataset: boundary is not in compat mode; kept the default');
    spec.dataset = 'circle';
  }
  num('classes', 2, 5, (v) => (spec.classes = v), true);
  num('batchSize', 1, lim.batch, (v) => (spec.batchSize = v), true);
  nearest('learningRate', LEARNING_RATES, (v) => (spec.learningRate = v));
  nearest('regularizationRate', REGULARIZATION_RATES, (v) => (spec.regularizationRate = v));
  // The original's slider stops at 50; its URL may carry up to 80, and it maps anything above 80 to 50.
  num('noise', 0, 80, (v) => (spec.noise = v));
  if (spec.mode === 'default' && spec.noise > 50) {
    warnings.push(`noise: ${spec.noise} is above 50; using 50`);
    spec.noise = 50;
  }
  num('percTrainData', 10, 90, (v) => (spec.percTrainData = v));
  if (map.has('networkShape')) {
    const raw = str('networkShape').trim();
    const parts = raw === '' ? [] : raw.split(',');
    const shape: number[] = [];
    for (const p of parts) {
      const n = Number(p);
      if (!Number.isFinite(n)) {
        warnings.push(`networkShape: "${p}" is not a number; dropped that layer`);
        continue;
      }
      const c = Math.min(lim.neurons, Math.max(1, Math.round(n)));
      if (c !== n) warnings.push(`networkShape: ${n} neurons is outside 1–${lim.neurons}; using ${c}`);
      shape.push(c);
    }
    if (shape.length > lim.layers) warnings.push(`networkShape: ${shape.length} hidden layers is more than ${lim.layers}; kept the first ${lim.layers}`);
    spec.networkShape = shape.slice(0, lim.layers);
  }
  if (map.has('layerActivations')) {
    spec.layerActivations = str('layerActivations')
      .split(',')
      .slice(0, spec.networkShape.length)
      .map((a) => {
        if (a === '' || (ACTIVATIONS as readonly string[]).includes(a)) return a;
        warnings.push(`layerActivations: "${a}" is not an activation; using the default`);
        return '';
      });
  }
  if (map.has('dropout')) {
    spec.dropout = str('dropout')
      .split(',')
      .slice(0, spec.networkShape.length)
      .map((d) => {
        const v = Number(d);
        if (!Number.isFinite(v) || v < 0 || v > 0.9) {
          warnings.push(`dropout: "${d}" is not a probability in 0–0.9; using 0`);
          return 0;
        }
        return v;
      });
  }
  if (map.has('batchNorm')) {
    spec.batchNorm = str('batchNorm')
      .split(',')
      .slice(0, spec.networkShape.length)
      .map((b) => b === '1' || b === 'true');
  }
  if (has('seed')) spec.seed = str('seed');
  if (has('initSeed')) spec.initSeed = str('initSeed');
  bool('showTestData', (v) => (spec.showTestData = v));
  oneOf('diagram', ['compact', 'lecture'] as const, (v) => {
    spec.diagram = v;
  });
  if (spec.mode === 'default' && has('b')) {
    // One level only: B's own `b` is not read.
    const inner = parseHash(str('b').replace(/(^|&)b=[^&]*/g, ''));
    for (const w of inner.warnings) warnings.push(`b (run B's settings): ${w}`);
    if (inner.spec.mode !== 'default') warnings.push('b: run B must be a default-mode hash; comparison off');
    else spec.compare = serializeHash(inner.spec);
  }
  bool('discretize', (v) => (spec.discretize = v));
  for (const f of FEATURES) bool(f, (v) => (spec.features[f] = v));
  bool('cosX', (v) => (spec.cosX = v));
  bool('cosY', (v) => (spec.cosY = v));
  bool('collectStats', (v) => (spec.collectStats = v));
  bool('initZero', (v) => (spec.initZero = v));
  bool('hideText', (v) => (spec.hideText = v));
  if (has('tutorial')) spec.tutorial = str('tutorial');
  oneOf('loss', LOSSES, (v) => {
    spec.loss = v;
  });
  oneOf('optimizer', OPTIMIZERS, (v) => {
    spec.optimizer = v;
  });
  oneOf('init', INITS, (v) => {
    spec.init = v;
  });
  oneOf('schedule', SCHEDULES, (v) => {
    spec.schedule = v;
  });
  num('momentum', 0, 0.999, (v) => (spec.momentum = v));
  num('beta1', 0, 0.999, (v) => (spec.beta1 = v));
  num('beta2', 0, 0.9999, (v) => (spec.beta2 = v));
  num('alpha', 0, 0.9999, (v) => (spec.alpha = v));
  num('rho', 0, 0.9999, (v) => (spec.rho = v));
  num('patience', 0, 10000, (v) => (spec.patience = v), true);
  num('stopAt', 0, 1e7, (v) => (spec.stopAt = v), true);
  num('epoch', 0, 1e6, (v) => (spec.epoch = v), true);
  if (spec.problem === 'curve') {
    // A curve has x1 only: features of x2 would be constant columns.
    for (const f of FEATURES) if (!(X1_FEATURES as readonly string[]).includes(f)) spec.features[f] = false;
    if (!X1_FEATURES.some((f) => spec.features[f])) spec.features.x = true;
  }
  if (!FEATURES.some((f) => spec.features[f]) && spec.customFeatures.length === 0) {
    warnings.push('features: every input feature is off; turned x1 and x2 on');
    spec.features.x = true;
    spec.features.y = true;
  }
  // Per-layer settings always have one entry per hidden layer.
  const n = spec.networkShape.length;
  spec.layerActivations = Array.from({ length: n }, (_, i) => spec.layerActivations[i] ?? '');
  spec.dropout = Array.from({ length: n }, (_, i) => spec.dropout[i] ?? 0);
  spec.batchNorm = Array.from({ length: n }, (_, i) => spec.batchNorm[i] ?? false);
  spec.hidden = [...map.keys()].filter((k) => k.endsWith('_hide') && map.get(k) === 'true').map((k) => k.slice(0, -5));
  if (spec.mode === 'compat') {
    // The original has one output, MSE and plain SGD, whatever the hash says.
    spec.classes = 2;
  }
  return { spec, warnings };
}

const fmt = (v: number) => String(v);

/** The hash for a Spec (without '#'): the original's keys in its order, then ours, then the hidden controls. */
export function serializeHash(spec: Spec): string {
  const d = defaultSpec(spec.mode);
  const out: string[] = [];
  const put = (k: string, v: string) => out.push(`${k}=${v}`);
  put('activation', spec.activation);
  if (spec.regularization !== 'none') put('regularization', spec.regularization);
  put('batchSize', fmt(spec.batchSize));
  put('dataset', spec.dataset);
  put('regDataset', spec.regDataset);
  put('learningRate', fmt(spec.learningRate));
  put('regularizationRate', fmt(spec.regularizationRate));
  put('noise', fmt(spec.noise));
  put('networkShape', spec.networkShape.join(','));
  put('seed', encodeURIComponent(spec.seed));
  put('showTestData', String(spec.showTestData));
  put('discretize', String(spec.discretize));
  put('percTrainData', fmt(spec.percTrainData));
  put('x', String(spec.features.x));
  put('y', String(spec.features.y));
  put('xTimesY', String(spec.features.xTimesY));
  put('xSquared', String(spec.features.xSquared));
  put('ySquared', String(spec.features.ySquared));
  put('cosX', String(spec.cosX));
  put('sinX', String(spec.features.sinX));
  put('cosY', String(spec.cosY));
  put('sinY', String(spec.features.sinY));
  put('collectStats', String(spec.collectStats));
  if (spec.tutorial !== '') put('tutorial', encodeURIComponent(spec.tutorial));
  put('problem', spec.problem);
  put('initZero', String(spec.initZero));
  put('hideText', String(spec.hideText));
  put('mode', spec.mode);
  if (spec.mode === 'default') {
    put('initSeed', encodeURIComponent(spec.initSeed));
    put('loss', spec.loss);
    put('optimizer', spec.optimizer);
    put('init', spec.init);
    if (spec.classes !== d.classes) put('classes', fmt(spec.classes));
    if (spec.problem === 'curve' || spec.curveDataset !== d.curveDataset) put('curveDataset', spec.curveDataset);
    if (spec.dataset === 'boundary' || spec.boundary !== d.boundary) put('boundary', encodeURIComponent(spec.boundary));
    if (spec.customFeatures.length > 0) put('custom', encodeURIComponent(spec.customFeatures.join(';')));
    if (spec.momentum !== d.momentum) put('momentum', fmt(spec.momentum));
    if (spec.beta1 !== d.beta1) put('beta1', fmt(spec.beta1));
    if (spec.beta2 !== d.beta2) put('beta2', fmt(spec.beta2));
    if (spec.alpha !== d.alpha) put('alpha', fmt(spec.alpha));
    if (spec.rho !== d.rho) put('rho', fmt(spec.rho));
    if (spec.schedule !== d.schedule) put('schedule', spec.schedule);
    if (spec.layerActivations.some((a) => a !== '')) put('layerActivations', spec.layerActivations.join(','));
    if (spec.dropout.some((p) => p > 0)) put('dropout', spec.dropout.map(fmt).join(','));
    if (spec.batchNorm.some(Boolean)) put('batchNorm', spec.batchNorm.map((b) => (b ? '1' : '0')).join(','));
    if (spec.patience !== 0) put('patience', fmt(spec.patience));
    if (spec.stopAt !== 0) put('stopAt', fmt(spec.stopAt));
  }
  if (spec.epoch !== 0) put('epoch', fmt(spec.epoch));
  if (spec.diagram !== 'compact') put('diagram', spec.diagram);
  if (spec.mode === 'default' && spec.compare !== '') put('b', encodeURIComponent(spec.compare));
  for (const h of spec.hidden) put(`${h}_hide`, 'true');
  return out.join('&');
}

/** The activation of hidden layer i. */
export function activationOf(spec: Spec, layer: number): ActivationName {
  const a = spec.layerActivations[layer];
  return a !== undefined && a !== '' ? (a as ActivationName) : spec.activation;
}

/** The input features that are on, in the original's order. */
export function activeFeatures(spec: Spec): FeatureName[] {
  return FEATURES.filter((f) => spec.features[f]);
}

/** A field that changes the network or the data, so that the run starts over; the rest apply on the next step. */
export const RESET_FIELDS: readonly (keyof Spec)[] = [
  'mode',
  'problem',
  'dataset',
  'regDataset',
  'curveDataset',
  'boundary',
  'customFeatures',
  'classes',
  'noise',
  'percTrainData',
  'activation',
  'layerActivations',
  'networkShape',
  'dropout',
  'batchNorm',
  'features',
  'seed',
  'initSeed',
  'loss',
  'init',
];

/** Whether going from spec a to b needs a new network (or new data). */
export function needsReset(a: Spec, b: Spec): boolean {
  if (a.mode === 'compat' || b.mode === 'compat') {
    // The original resets on everything except the learning rate (and the view toggles).
    const { learningRate: _l1, showTestData: _s1, discretize: _d1, epoch: _e1, diagram: _g1, compare: _c1, hidden: _h1, ...ra } = a;
    const { learningRate: _l2, showTestData: _s2, discretize: _d2, epoch: _e2, diagram: _g2, compare: _c2, hidden: _h2, ...rb } = b;
    return JSON.stringify(ra) !== JSON.stringify(rb);
  }
  return RESET_FIELDS.some((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/** The fields that make up the data: run B of an A/B comparison takes these from A. */
export const DATA_FIELDS = ['problem', 'dataset', 'regDataset', 'curveDataset', 'boundary', 'classes', 'noise', 'percTrainData', 'seed'] as const;

/** Run B's spec: its own settings with A's data, or null when A compares with nothing. */
export function compareSpec(a: Spec): Spec | null {
  if (a.mode !== 'default' || a.compare === '') return null;
  const b = parseHash(a.compare).spec;
  for (const k of DATA_FIELDS) (b as unknown as Record<string, unknown>)[k] = structuredClone(a[k]);
  b.compare = '';
  b.epoch = 0;
  if (b.initSeed === '') b.initSeed = a.initSeed;
  return b;
}

/** What B changes from A, for people ("optimizer sgd, learningRate 0.3"). */
export function describeDifference(a: Spec, b: Spec): string {
  const skip = new Set<string>([...DATA_FIELDS, 'compare', 'epoch', 'hidden', 'showTestData', 'discretize', 'diagram']);
  const diffs: string[] = [];
  for (const k of Object.keys(b) as (keyof Spec)[]) {
    if (skip.has(k)) continue;
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k]))
      diffs.push(`${k} ${Array.isArray(b[k]) ? (b[k] as unknown[]).join(',') : typeof b[k] === 'object' ? JSON.stringify(b[k]) : String(b[k])}`);
  }
  return diffs.length === 0 ? 'the same settings as A' : diffs.join(', ');
}

/**
 * A spec from a file (an export, a safetensors file's metadata): missing
 * fields take their defaults and every value goes through the URL parser's
 * checks, so a hand-edited or damaged file gives a valid spec or a clear
 * error, never a half-built network.
 */
export function normalizeSpec(raw: unknown): Spec {
  if (typeof raw !== 'object' || raw === null) throw new Error('import: the spec is not an object');
  const r = raw as Partial<Spec>;
  const mode = r.mode === 'compat' ? 'compat' : 'default';
  const merged: Spec = { ...defaultSpec(mode), ...r, mode };
  let hash: string;
  try {
    hash = serializeHash(merged);
  } catch {
    throw new Error('import: the spec has values of the wrong kind');
  }
  const { spec } = parseHash(hash);
  return spec;
}
