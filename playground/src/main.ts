// The page: controls, the network diagram, the output map, the charts, the
// URL. Training happens in the session (a Web Worker when there is one); this
// side only draws the latest snapshot and sends what the user changes.
import uPlot from 'uplot';
import { type Client, createClient, newId } from './client.js';
import { CompareRun } from './compare.js';
import { generate, type Point2D, parsePointsCsv, pointsToCsv, type Split } from './datasets.js';
import { type DiagramInput, lectureDiagram, svgText } from './diagram.js';
import type { EpochRecord, Snapshot } from './engine.js';
import { tryCompile } from './expr.js';
import { CURVE_SAMPLES, featureGrid, GRID, TILE } from './grid.js';
import { CLASS_COLORS, cssColor, paintCurve, paintMap, paintPoints, paintThumbnail } from './render.js';
import type { Reply } from './session.js';
import {
  ACTIVATIONS,
  activationOf,
  activeFeatures,
  CLASSIFY_DATASETS,
  CURVE_DATASETS,
  compareSpec,
  describeDifference,
  FEATURES,
  type FeatureName,
  HIDEABLE,
  INITS,
  LEARNING_RATES,
  LOSSES,
  limitsOf,
  MAX_CUSTOM_FEATURES,
  needsReset,
  OPTIMIZER_HYPERS,
  OPTIMIZERS,
  PROBLEMS,
  parseHash,
  REGRESS_DATASETS,
  REGULARIZATION_RATES,
  REGULARIZATIONS,
  SCHEDULES,
  type Spec,
  serializeHash,
  X1_FEATURES,
} from './spec.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text = ''): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
};

const FEATURE_LABELS: Record<FeatureName, string> = { x: 'X₁', y: 'X₂', xSquared: 'X₁²', ySquared: 'X₂²', xTimesY: 'X₁X₂', sinX: 'sin(X₁)', sinY: 'sin(X₂)' };
const SPEEDS = [1, 3, 10, 30, 60, 120, 0];

interface State {
  spec: Spec;
  playing: boolean;
  frame: Snapshot | null;
  data: Split | null;
  history: EpochRecord[];
  /** The session's run number for `history`: a new one means the records start over. */
  run: number;
  selected: string | null;
  backend: string;
  rate: number;
  /** Seconds run A has spent training. */
  trainSeconds: number;
  userPoints: Point2D[];
  addClass: number | null;
  shapes: boolean;
  logY: boolean;
  /** 1-D view: draw each last-hidden-layer unit's contribution. */
  parts: boolean;
  /** Show one train-mode pass with this dropout mask seed, or the eval-mode maps (null). */
  maskSeed: number | null;
  classroomOpen: boolean;
}

const params = new URLSearchParams(location.search);
const workerUrl = new URL('./worker.js', import.meta.url).href;
const preferWorker = params.get('worker') !== '0';
const client: Client = createClient(workerUrl, preferWorker);
const initial = parseHash(location.hash);
const state: State = {
  spec: initial.spec,
  playing: false,
  frame: null,
  data: null,
  history: [],
  run: -1,
  selected: null,
  backend: '',
  rate: 0,
  trainSeconds: 0,
  userPoints: [],
  addClass: null,
  shapes: false,
  logY: false,
  parts: true,
  maskSeed: null,
  classroomOpen: false,
};
if (state.spec.seed === '') state.spec.seed = Math.random().toFixed(5);
if (state.spec.initSeed === '') state.spec.initSeed = String(Math.floor(Math.random() * 1e6));
let writtenHash = '';
let frameInFlight = false;
let lastLive = 0;
const consoleErrors: string[] = [];

// ---------------------------------------------------------------- messages
function message(text: string, level: 'info' | 'warn' | 'error' = 'info', action?: { label: string; run: () => void }): void {
  const box = $('messages');
  const line = el('div', { class: `msg ${level}`, role: level === 'info' ? 'status' : 'alert' }, text);
  if (action) {
    const b = el('button', { class: 'msg-action' }, action.label);
    b.onclick = () => {
      line.remove();
      action.run();
    };
    line.append(' ', b);
  }
  const close = el('button', { class: 'close', 'aria-label': 'dismiss' }, '×');
  close.onclick = () => line.remove();
  line.append(close);
  box.append(line);
  while (box.children.length > 6) box.firstElementChild?.remove();
}

// ---------------------------------------------------------------- spec changes
function writeHash(push: boolean): void {
  const h = `#${serializeHash(state.spec)}`;
  if (h === writtenHash) return;
  writtenHash = h;
  if (push) history.pushState(null, '', h);
  else history.replaceState(null, '', h);
}

function setSpec(change: Partial<Spec>, push = true): void {
  const before = state.spec;
  const next: Spec = { ...before, ...change, epoch: 0 };
  // Keep per-layer arrays as long as the network.
  const n = next.networkShape.length;
  next.layerActivations = Array.from({ length: n }, (_, i) => next.layerActivations[i] ?? '');
  next.dropout = Array.from({ length: n }, (_, i) => next.dropout[i] ?? 0);
  next.batchNorm = Array.from({ length: n }, (_, i) => next.batchNorm[i] ?? false);
  if (next.mode === 'compat') next.classes = 2;
  state.spec = next;
  if (needsReset(before, next)) {
    state.history = [];
    resetChart();
  }
  client.send({ type: 'spec', spec: next });
  if (needsReset(before, next) && state.playing) pause();
  syncCompare();
  writeHash(push);
  buildControls();
  buildNetwork();
  requestFrame();
}

function applyHash(): void {
  if (location.hash === writtenHash) return;
  const { spec, warnings } = parseHash(location.hash);
  for (const w of warnings) message(`URL: ${w}`, 'warn');
  if (spec.seed === '') spec.seed = state.spec.seed;
  if (spec.initSeed === '') spec.initSeed = state.spec.initSeed;
  writtenHash = location.hash;
  state.history = [];
  resetChart();
  state.spec = spec;
  pause();
  client.send({ type: 'spec', spec });
  syncCompare();
  buildControls();
  buildNetwork();
  requestFrame();
}

// ---------------------------------------------------------------- play
function play(): void {
  state.playing = true;
  client.send({ type: 'play' });
  runB?.play();
  updatePlayButton();
}
function pause(): void {
  state.playing = false;
  client.send({ type: 'pause' });
  runB?.pause();
  updatePlayButton();
}
function togglePlay(): void {
  if (state.playing) pause();
  else play();
}
async function step(epochs = 1): Promise<number> {
  pause();
  const [epoch] = await Promise.all([client.call<number>({ type: 'step', epochs, id: newId() }), runB?.step(epochs)]);
  await fetchFrame();
  return epoch;
}
function reset(): void {
  pause();
  state.history = [];
  resetChart();
  client.send({ type: 'reset' });
  runB?.reset();
  runB?.requestFrame();
  requestFrame();
}
function lowerLearningRate(lr: number): void {
  setSpec({ learningRate: lr });
  reset();
}

function reinit(): void {
  setSpec({ initSeed: String(Math.floor(Math.random() * 1e6)) });
}
function updatePlayButton(): void {
  const b = $('play');
  b.textContent = state.playing ? '❚❚' : '▶';
  b.setAttribute('aria-label', state.playing ? 'Pause' : 'Play');
  b.setAttribute('aria-pressed', String(state.playing));
  b.title = state.playing ? 'Pause (Space)' : 'Play (Space)';
}

// ---------------------------------------------------------------- frames
function requestFrame(): void {
  if (frameInFlight) return;
  frameInFlight = true;
  client.send({ type: 'frame', selected: state.selected, run: state.run, since: state.history.length, mask: state.maskSeed });
}
let frameWaiters: (() => void)[] = [];
function fetchFrame(): Promise<void> {
  return new Promise((ok) => {
    frameWaiters.push(ok);
    frameInFlight = false;
    requestFrame();
  });
}

client.onReply = (reply: Reply) => {
  if (reply.type === 'message') {
    message(reply.text, reply.level);
    return;
  }
  if (reply.type === 'spec') {
    // The session changed the spec (a new data seed, user data): the page follows.
    state.spec = reply.spec;
    writeHash(false);
    buildControls();
    buildNetwork();
    return;
  }
  if (reply.type === 'frame') {
    frameInFlight = false;
    const s = reply.snapshot;
    if (state.frame && s.epoch < state.frame.epoch) {
      state.history = [];
      resetChart();
    }
    if (reply.run !== state.run || s.historyFrom === 0) state.history = s.history;
    else state.history.push(...s.history);
    state.run = reply.run;
    state.frame = s;
    state.data = reply.data;
    state.backend = reply.backend;
    state.rate = reply.epochsPerSecond;
    state.trainSeconds = reply.trainSeconds;
    if (state.playing && !reply.playing) {
      state.playing = false;
      updatePlayButton();
      if (s.stopped?.startsWith('The ')) {
        // The NaN guard: offer the usual cure in one click.
        const lower = LEARNING_RATES.filter((r) => r < state.spec.learningRate).at(-1);
        message(
          s.stopped,
          'error',
          lower === undefined ? undefined : { label: `Lower the learning rate to ${lower} and reset`, run: () => lowerLearningRate(lower) },
        );
      } else if (s.stopped) message(s.stopped, 'info');
    }
    const t0 = performance.now();
    render();
    renderTimes.push(performance.now() - t0);
    if (renderTimes.length > 600) renderTimes.shift();
    const waiters = frameWaiters;
    frameWaiters = [];
    for (const w of waiters) w();
  }
};

function loop(): void {
  if (state.playing) {
    requestFrame();
    runB?.requestFrame();
  }
  requestAnimationFrame(loop);
}

// ---------------------------------------------------------------- controls
function select(
  id: string,
  label: string,
  options: readonly (string | number)[],
  value: string | number,
  onChange: (v: string) => void,
  names?: (v: string | number) => string,
): HTMLElement {
  const wrap = el('label', { class: `control ui-${id}` });
  wrap.append(el('span', {}, label));
  const s = el('select', { id, 'aria-label': label });
  for (const o of options) {
    const opt = el('option', { value: String(o) }, names ? names(o) : String(o));
    if (String(o) === String(value)) opt.selected = true;
    s.append(opt);
  }
  s.onchange = () => onChange(s.value);
  wrap.append(s);
  return wrap;
}

function slider(
  id: string,
  label: string,
  min: number,
  max: number,
  stepSize: number,
  value: number,
  onChange: (v: number) => void,
  fmt = (v: number) => String(v),
): HTMLElement {
  const wrap = el('label', { class: `control ui-${id}` });
  const out = el('output', { for: id }, fmt(value));
  wrap.append(el('span', {}, `${label}: `), out);
  const s = el('input', { id, type: 'range', min: String(min), max: String(max), step: String(stepSize), value: String(value), 'aria-label': label });
  s.oninput = () => {
    out.textContent = fmt(Number(s.value));
  };
  s.onchange = () => onChange(Number(s.value));
  wrap.append(s);
  return wrap;
}

function checkbox(id: string, label: string, value: boolean, onChange: (v: boolean) => void): HTMLElement {
  const wrap = el('label', { class: `control check ui-${id}` });
  const c = el('input', { id, type: 'checkbox' });
  c.checked = value;
  c.onchange = () => onChange(c.checked);
  wrap.append(c, el('span', {}, label));
  return wrap;
}

function buildControls(): void {
  const s = state.spec;
  const lim = limitsOf(s);
  const compat = s.mode === 'compat';
  const top = $('hyper');
  top.replaceChildren(
    select('mode', 'Mode', ['default', 'compat'], s.mode, (v) =>
      setSpec({
        ...parseHash(v === 'compat' ? 'mode=compat' : 'mode=default').spec,
        seed: s.seed,
        initSeed: s.initSeed,
        dataset: s.dataset === 'user' ? 'circle' : s.dataset,
      }),
    ),
    select('learningRate', 'Learning rate', LEARNING_RATES, s.learningRate, (v) => setSpec({ learningRate: Number(v) })),
    select(
      'activation',
      'Activation',
      compat ? ACTIVATIONS.slice(0, 4) : ACTIVATIONS,
      s.activation,
      (v) => setSpec({ activation: v as Spec['activation'] }),
      (v) => (v === 'linear' ? 'Linear' : String(v)),
    ),
    select('regularization', 'Regularization', REGULARIZATIONS, s.regularization, (v) => setSpec({ regularization: v as Spec['regularization'] })),
    select('regularizationRate', 'Regularization rate', REGULARIZATION_RATES, s.regularizationRate, (v) => setSpec({ regularizationRate: Number(v) })),
    select(
      'problem',
      'Problem type',
      compat ? PROBLEMS.slice(0, 2) : PROBLEMS,
      s.problem,
      (v) => setSpec(problemChange(v as Spec['problem'])),
      (v) => (v === 'curve' ? '1-D regression (curve)' : String(v)),
    ),
  );
  if (!compat) {
    top.append(
      ...(s.problem === 'classification'
        ? [
            select(
              'loss',
              'Loss',
              LOSSES,
              s.loss,
              (v) => setSpec({ loss: v as Spec['loss'] }),
              (v) => ({ bce: 'Cross-entropy', mse: 'MSE (½(o−t)²)', hinge: 'Hinge' })[v as string] ?? String(v),
            ),
            select('classes', 'Classes', [2, 3, 4, 5], s.classes, (v) => setSpec({ classes: Number(v) })),
          ]
        : []),
      select('optimizer', 'Optimizer', OPTIMIZERS, s.optimizer, (v) => setSpec({ optimizer: v as Spec['optimizer'] })),
      // The chosen optimizer's own settings; they apply on the next step, like the learning rate.
      ...OPTIMIZER_HYPERS[s.optimizer].map((h) => {
        const options = h.options.includes(s[h.key]) ? h.options : [...h.options, s[h.key]].sort((a, b) => a - b);
        return select(h.key, h.label, options, s[h.key], (v) => setSpec({ [h.key]: Number(v) }));
      }),
      select(
        'init',
        'Initializer',
        INITS,
        s.init,
        (v) => setSpec({ init: v as Spec['init'] }),
        (v) => (v === 'uniform' ? 'U(±0.5) (original)' : String(v)),
      ),
      select('schedule', 'LR schedule', SCHEDULES, s.schedule, (v) => setSpec({ schedule: v as Spec['schedule'] })),
      slider(
        'patience',
        'Early stopping (epochs)',
        0,
        200,
        10,
        s.patience,
        (v) => setSpec({ patience: v }),
        (v) => (v === 0 ? 'off' : String(v)),
      ),
      slider(
        'stopAt',
        'Stop at epoch',
        0,
        2000,
        50,
        s.stopAt,
        (v) => setSpec({ stopAt: v }),
        (v) => (v === 0 ? 'never' : String(v)),
      ),
    );
  }

  const data = $('data');
  const names: readonly string[] = s.problem === 'classification' ? CLASSIFY_DATASETS : s.problem === 'curve' ? CURVE_DATASETS : REGRESS_DATASETS;
  const thumbs = el('div', { class: 'thumbs', role: 'radiogroup', 'aria-label': 'Dataset' });
  const current = s.problem === 'classification' ? s.dataset : s.problem === 'curve' ? s.curveDataset : s.regDataset;
  const boundaryFn = tryCompile(s.boundary, { x1Only: true });
  for (const name of names) {
    if (name === 'user' && state.userPoints.length === 0) continue;
    if (compat && ['moons', 'checkerboard', 'boundary'].includes(name)) continue;
    const b = el('button', {
      class: `thumb${name === current ? ' selected' : ''}`,
      'data-dataset': name,
      role: 'radio',
      'aria-checked': String(name === current),
      'aria-label': `dataset ${name}`,
      title: name,
    });
    const c = el('canvas');
    if (name === 'user') paintThumbnail(c, state.userPoints, s.classes > 2);
    else if (s.problem === 'curve') {
      // A curve's thumbnail: its points with the label as height.
      const g = generate(name, 'curve', 0, 100, 'thumbnail');
      paintThumbnail(
        c,
        g.train.map((p) => ({ x: p.x, y: p.label * 4, label: p.label })),
        false,
      );
    } else if (name !== 'boundary' || typeof boundaryFn !== 'string') {
      const g = generate(
        name,
        s.problem,
        0,
        100,
        'thumbnail',
        s.problem === 'classification' ? s.classes : 2,
        typeof boundaryFn === 'string' ? undefined : boundaryFn.fn,
      );
      paintThumbnail(c, g.train.slice(0, 200), s.classes > 2 && s.problem === 'classification');
    }
    b.append(c);
    const seed = Math.random().toFixed(5);
    b.onclick = () =>
      setSpec(
        s.problem === 'classification'
          ? { dataset: name as Spec['dataset'], seed }
          : s.problem === 'curve'
            ? { curveDataset: name as Spec['curveDataset'], seed }
            : { regDataset: name as Spec['regDataset'], seed },
      );
    thumbs.append(b);
  }
  const regen = el('button', { id: 'regenerate', class: 'ui-regenerate' }, 'Regenerate');
  regen.onclick = () => {
    client.send({ type: 'regenerate' });
    requestFrame();
  };
  const upload = el('input', { id: 'csv-file', type: 'file', accept: '.csv,text/csv,text/plain', 'aria-label': 'Upload a CSV of x1,x2,label rows' });
  upload.onchange = async () => {
    const f = upload.files?.[0];
    if (f) loadCsv(await f.text(), f.name);
    upload.value = '';
  };
  const paste = el('textarea', { id: 'csv-paste', rows: '3', placeholder: 'or paste x1,x2,label rows here', 'aria-label': 'Paste CSV rows' });
  const usePaste = el('button', { id: 'csv-use' }, 'Use pasted data');
  usePaste.onclick = () => loadCsv(paste.value, 'the pasted text');
  const download = el('button', { id: 'csv-download' }, 'Download data (CSV)');
  download.onclick = () => {
    if (state.data) save('neurite-playground-data.csv', pointsToCsv(state.data), 'text/csv');
  };
  const addMode = select(
    'addPoints',
    'Click on the output to add',
    ['off', ...Array.from({ length: s.problem === 'classification' ? Math.max(2, s.classes) : 0 }, (_, i) => `class ${i}`)],
    state.addClass === null ? 'off' : `class ${state.addClass}`,
    (v) => {
      state.addClass = v === 'off' ? null : Number(v.slice(6));
    },
  );
  // "y > f(x)": the curve that splits the classes, typed as an expression of x1.
  const boundaryForm = el('form', { class: 'boundary ui-boundary' });
  const boundaryInput = el('input', {
    id: 'boundary',
    type: 'text',
    value: s.boundary,
    'aria-label': 'the boundary f(x1) of the y > f(x) dataset',
    size: '14',
  });
  boundaryForm.append(el('span', {}, 'y > '), boundaryInput, el('button', { type: 'submit', id: 'boundary-apply' }, 'Use'));
  boundaryForm.onsubmit = (e) => {
    e.preventDefault();
    const c = tryCompile(boundaryInput.value, { x1Only: true });
    if (typeof c === 'string') message(`Boundary ${c}. The data is kept.`, 'error');
    // Editing the curve keeps the points (the data seed stays) and relabels them, so the curve's effect
    // shows alone and a URL's seed stays reproducible. A change of dataset draws new points, as in the
    // original; so does Regenerate.
    else setSpec({ boundary: c.source, dataset: 'boundary' });
  };
  const ownData = s.problem !== 'curve';
  data.replaceChildren(
    el('h2', {}, 'Data'),
    thumbs,
    ...(s.problem === 'classification' && !compat ? [boundaryForm] : []),
    slider(
      'percTrainData',
      'Ratio of training to test data',
      10,
      90,
      10,
      s.percTrainData,
      (v) => setSpec({ percTrainData: v, seed: Math.random().toFixed(5) }),
      (v) => `${v}%`,
    ),
    slider('noise', 'Noise', 0, 50, 5, Math.min(50, s.noise), (v) => setSpec({ noise: v, seed: Math.random().toFixed(5) })),
    slider('batchSize', 'Batch size', 1, lim.batch, 1, s.batchSize, (v) => setSpec({ batchSize: v })),
    regen,
    ...(ownData ? [el('h3', {}, 'Your data'), upload, paste, usePaste] : []),
    download,
    ...(s.problem === 'classification' && !compat ? [addMode] : []),
  );

  const view = $('view');
  view.replaceChildren(
    checkbox('showTestData', 'Show test data', s.showTestData, (v) => {
      state.spec = { ...state.spec, showTestData: v };
      writeHash(true);
      render();
    }),
    checkbox('discretize', 'Discretize output', s.discretize, (v) => {
      state.spec = { ...state.spec, discretize: v };
      writeHash(true);
      render();
    }),
    checkbox('shapes', 'Shapes for classes (○/×)', state.shapes, (v) => {
      state.shapes = v;
      render();
    }),
    ...(s.problem === 'curve'
      ? [
          checkbox('parts', "Each unit's share of the curve", state.parts, (v) => {
            state.parts = v;
            render();
          }),
        ]
      : []),
    ...(s.mode === 'default' && s.dropout.some((p) => p > 0)
      ? [
          checkbox('trainMode', 'Train-mode view: one dropout mask', state.maskSeed !== null, (v) => {
            state.maskSeed = v ? Math.floor(Math.random() * 2 ** 31) : null;
            requestFrame();
          }),
        ]
      : []),
    classroomPanel(),
    checkbox('logY', 'Log-scale loss', state.logY, (v) => {
      state.logY = v;
      resetChart();
      render();
    }),
  );
  for (const h of s.hidden)
    document.querySelectorAll<HTMLElement>(`.ui-${h}`).forEach((node) => {
      node.style.display = 'none';
    });
  document.body.classList.toggle('hide-text', s.hideText);
}

/** Switching the problem type: a new data seed, and a curve keeps only the features of x1. */
function problemChange(problem: Spec['problem']): Partial<Spec> {
  const change: Partial<Spec> = { problem, seed: Math.random().toFixed(5) };
  if (problem === 'curve') {
    const features = { ...state.spec.features };
    for (const f of FEATURES) if (!(X1_FEATURES as readonly string[]).includes(f)) features[f] = false;
    if (!X1_FEATURES.some((f) => features[f])) features.x = true;
    change.features = features;
  } else if (state.spec.problem === 'curve' && !state.spec.features.y) change.features = { ...state.spec.features, y: true };
  return change;
}

/**
 * The classroom panel: tick the controls students should not see. They hide
 * here at once (a preview), and the URL, with the original's
 * `<control>_hide=true` keys, is the link to hand out.
 */
function classroomPanel(): HTMLElement {
  const box = el('details', { class: 'classroom', id: 'classroom' });
  if (state.classroomOpen) box.setAttribute('open', '');
  box.addEventListener('toggle', () => {
    state.classroomOpen = box.open;
  });
  box.append(el('summary', {}, 'Classroom: hide controls'));
  for (const [id, label] of HIDEABLE) {
    box.append(
      checkbox(`hide-${id}`, label, state.spec.hidden.includes(id), (v) => {
        const hidden = state.spec.hidden.filter((h) => h !== id);
        if (v) hidden.push(id);
        // Showing the controls again: undo the display:none the last build set.
        document.querySelectorAll<HTMLElement>(`.ui-${id}`).forEach((node) => {
          node.style.display = '';
        });
        state.spec = { ...state.spec, hidden };
        writeHash(true);
        buildControls();
        buildNetwork();
        requestFrame();
      }),
    );
  }
  const link = el('button', { id: 'classroom-link' }, 'Show the link');
  link.onclick = () => {
    $<HTMLTextAreaElement>('snippet').value = location.href;
    $('snippet').hidden = false;
  };
  box.append(link);
  return box;
}

function loadCsv(text: string, source: string): void {
  if (state.spec.problem === 'curve') return;
  const r = parsePointsCsv(text, state.spec.problem);
  if (r.error !== undefined) {
    message(`CSV (${source}): ${r.error}. The current data is kept.`, 'error');
    return;
  }
  state.userPoints = r.points;
  state.history = [];
  resetChart();
  pause();
  client.send({ type: 'userPoints', points: r.points });
  message(`Loaded ${r.points.length} points from ${source}.`);
  requestFrame();
}

function saveBytes(name: string, bytes: Uint8Array): void {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const a = el('a', { href: URL.createObjectURL(new Blob([copy.buffer], { type: 'application/octet-stream' })), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

function save(name: string, text: string, type: string): void {
  const a = el('a', { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

// ---------------------------------------------------------------- network diagram
const NODE = 30;
const COL = 110;
const ROW = 42;
const nodeCanvases = new Map<string, HTMLCanvasElement>();
const featureMaps = new Map<FeatureName, Float32Array>();

function nodePos(col: number, row: number): [number, number] {
  return [70 + col * COL, 130 + row * ROW];
}

/** What the lecture diagram draws for the current spec and frame. */
function diagramInput(f: Snapshot): DiagramInput {
  const s = state.spec;
  const multi = s.problem === 'classification' && s.classes > 2;
  const output = multi ? 'softmax' : s.problem !== 'classification' || s.loss === 'hinge' ? 'identity' : s.loss === 'bce' ? 'σ' : 'tanh';
  return {
    inputs: [...activeFeatures(s).map((n) => FEATURE_LABELS[n]), ...(s.mode === 'compat' ? [] : s.customFeatures)],
    weights: f.weights,
    biases: f.biases,
    activations: [...s.networkShape.map((_, l) => activationOf(s, l)), output],
  };
}

let lectureDrawn = 0;
/** The lecture view: redrawn whole, so at most 4 times a second during Play. */
function drawLecture(force = false): void {
  const host = document.getElementById('lecture');
  const f = state.frame;
  if (!host || !f || f.weights.length !== state.spec.networkShape.length + 1) return;
  const input = diagramInput(f);
  if ((f.weights[0]?.[0]?.length ?? input.inputs.length) !== input.inputs.length) return;
  const now = performance.now();
  if (!force && state.playing && now - lectureDrawn < 250) return;
  lectureDrawn = now;
  host.replaceChildren(lectureDiagram(input));
}

function diagramBar(): HTMLElement {
  const s = state.spec;
  const bar = el('div', { class: 'diagram-bar' });
  const toggle = el(
    'button',
    { id: 'diagram-toggle', 'aria-pressed': String(s.diagram === 'lecture') },
    s.diagram === 'lecture' ? 'Compact view' : 'Lecture view',
  );
  toggle.onclick = () => {
    state.spec = { ...state.spec, diagram: state.spec.diagram === 'lecture' ? 'compact' : 'lecture' };
    writeHash(true);
    buildNetwork();
    requestFrame();
  };
  const exportSvg = el('button', { id: 'export-svg', title: 'Download the lecture-style diagram as an SVG file' }, 'Export SVG');
  exportSvg.onclick = () => {
    if (state.frame) save('neurite-network.svg', svgText(lectureDiagram(diagramInput(state.frame))), 'image/svg+xml');
  };
  bar.append(toggle, exportSvg);
  return bar;
}

function buildNetwork(): void {
  const s = state.spec;
  if (s.diagram === 'lecture') {
    nodeCanvases.clear();
    linkShape = '';
    $('network').replaceChildren(diagramBar(), el('div', { id: 'lecture', class: 'lecture-box' }));
    drawLecture(true);
    return;
  }
  const lim = limitsOf(s);
  const compat = s.mode === 'compat';
  const host = $('network');
  nodeCanvases.clear();
  const custom = compat ? [] : s.customFeatures;
  const layerSizes = [FEATURES.length + custom.length, ...s.networkShape, s.problem === 'classification' && s.classes > 2 ? s.classes : 1];
  const height = 150 + (Math.max(...layerSizes) + (compat ? 0 : 1)) * ROW;
  const width = 70 + (layerSizes.length - 1) * COL + NODE + 40;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('id', 'links');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  const box = el('div', { class: 'net-box', style: `width:${width}px;height:${height}px` });
  box.append(svg);

  // Input features: every one shown; inactive ones faded. Click toggles.
  FEATURES.forEach((f, row) => {
    const [x, y] = nodePos(0, row);
    const usesX2 = s.problem === 'curve' && !(X1_FEATURES as readonly string[]).includes(f);
    const b = el('button', {
      class: `node feature${s.features[f] ? ' on' : ''} ui-${f}`,
      style: `left:${x}px;top:${y}px`,
      'aria-pressed': String(s.features[f]),
      'aria-label': `input feature ${FEATURE_LABELS[f]}, ${s.features[f] ? 'on' : 'off'}`,
      title: `${FEATURE_LABELS[f]}: click to ${s.features[f] ? 'remove' : 'add'}`,
    });
    const c = el('canvas');
    if (!featureMaps.has(f)) featureMaps.set(f, featureGrid(f));
    const m = featureMaps.get(f) as Float32Array;
    const scaled = new Float32Array(m.length);
    const max = Math.max(...m.map(Math.abs));
    for (let i = 0; i < m.length; i++) scaled[i] = m[i] / max;
    paintMap(c, reduceTo(scaled, TILE), TILE, false);
    b.append(c);
    if (usesX2) {
      b.disabled = true;
      b.title = `${FEATURE_LABELS[f]} depends on x2, which a 1-D curve does not have`;
    }
    b.onclick = () => {
      const features = { ...s.features, [f]: !s.features[f] };
      if (!FEATURES.some((k) => features[k]) && custom.length === 0) {
        message('At least one input feature must stay on.', 'warn');
        return;
      }
      setSpec({ features });
    };
    box.append(b, el('div', { class: 'label', style: `left:${x - 62}px;top:${y + 7}px` }, FEATURE_LABELS[f]));
  });
  // Custom features: one row each under the seven, removable; then a field to add one.
  custom.forEach((text, k) => {
    const [x, y] = nodePos(0, FEATURES.length + k);
    const b = el('button', {
      class: 'node feature on custom',
      style: `left:${x}px;top:${y}px`,
      'data-custom': String(k),
      'aria-label': `custom feature ${text}: click to remove`,
      title: `${text}: click to remove`,
    });
    const c = el('canvas');
    const compiled = tryCompile(text);
    if (typeof compiled !== 'string') paintMap(c, reduceTo(expressionGrid(compiled.fn), TILE), TILE, false);
    b.append(c);
    b.onclick = () => setSpec({ customFeatures: s.customFeatures.filter((_, i) => i !== k) });
    box.append(b, el('div', { class: 'label custom-label', style: `left:${x - 62}px;top:${y + 7}px`, title: text }, text));
  });
  if (!compat && custom.length < MAX_CUSTOM_FEATURES) {
    const [x, y] = nodePos(0, FEATURES.length + custom.length);
    const form = el('form', { class: 'add-feature', style: `left:${x - 62}px;top:${y + 4}px` });
    const input = el('input', {
      id: 'custom-feature',
      type: 'text',
      placeholder: 'x1*x2^2',
      'aria-label': 'a custom input feature: an expression of x1 and x2',
      size: '9',
    });
    const add = el('button', { id: 'add-feature', type: 'submit', 'aria-label': 'add the custom feature' }, '+');
    form.onsubmit = (e) => {
      e.preventDefault();
      const compiled = tryCompile(input.value);
      if (typeof compiled === 'string') {
        message(`Custom feature ${compiled}. Nothing was added.`, 'error');
        return;
      }
      if (s.problem === 'curve' && /x2|\by\b/.test(compiled.source)) message('A 1-D curve has no x2: in this feature x2 is 0.', 'warn');
      setSpec({ customFeatures: [...s.customFeatures, compiled.source] });
    };
    form.append(input, add);
    box.append(form);
  }

  // Hidden and output layers.
  for (let l = 1; l < layerSizes.length; l++) {
    const hidden = l < layerSizes.length - 1;
    for (let u = 0; u < layerSizes[l]; u++) {
      const [x, y] = nodePos(l, u);
      const id = `${l - 1}:${u}`;
      const b = el('button', {
        class: `node neuron${state.selected === id ? ' selected' : ''}`,
        style: `left:${x}px;top:${y}px`,
        'data-node': id,
        'aria-label': `${hidden ? `hidden layer ${l}` : 'output'} neuron ${u + 1}: show its map`,
      });
      const c = el('canvas');
      nodeCanvases.set(id, c);
      b.append(c);
      b.onclick = () => {
        state.selected = state.selected === id ? null : id;
        showNeuronInfo(id);
        buildNetwork();
        requestFrame();
      };
      b.onmouseenter = () => {
        state.selected = id;
        requestFrame();
      };
      b.onmouseleave = () => {
        state.selected = null;
        requestFrame();
      };
      box.append(b);
    }
    if (hidden) {
      const [x] = nodePos(l, 0);
      const head = el('div', { class: 'layer-head', style: `left:${x - 28}px;top:4px` });
      const plus = el('button', { class: `ui-numNodes${l - 1}`, 'aria-label': `add a neuron to hidden layer ${l}`, title: 'add a neuron' }, '+');
      const minus = el('button', { class: `ui-numNodes${l - 1}`, 'aria-label': `remove a neuron from hidden layer ${l}`, title: 'remove a neuron' }, '−');
      plus.onclick = () => {
        const shape = s.networkShape.slice();
        if (shape[l - 1] < lim.neurons) shape[l - 1]++;
        setSpec({ networkShape: shape });
      };
      minus.onclick = () => {
        const shape = s.networkShape.slice();
        if (shape[l - 1] > 1) shape[l - 1]--;
        setSpec({ networkShape: shape });
      };
      head.append(plus, minus, el('span', {}, `${s.networkShape[l - 1]} neuron${s.networkShape[l - 1] === 1 ? '' : 's'}`));
      if (!compat) {
        const act = el('select', { 'aria-label': `activation of hidden layer ${l}`, class: 'layer-act' });
        for (const a of ['', ...ACTIVATIONS]) {
          const o = el('option', { value: a }, a === '' ? `(${s.activation})` : a);
          if ((s.layerActivations[l - 1] ?? '') === a) o.selected = true;
          act.append(o);
        }
        act.onchange = () => {
          const la = s.layerActivations.slice();
          la[l - 1] = act.value;
          setSpec({ layerActivations: la });
        };
        const drop = el('select', { 'aria-label': `dropout of hidden layer ${l}`, class: 'layer-drop' });
        for (const p of [0, 0.1, 0.2, 0.3, 0.5]) {
          const o = el('option', { value: String(p) }, p === 0 ? 'no dropout' : `dropout ${p}`);
          if ((s.dropout[l - 1] ?? 0) === p) o.selected = true;
          drop.append(o);
        }
        drop.onchange = () => {
          const d = s.dropout.slice();
          d[l - 1] = Number(drop.value);
          setSpec({ dropout: d });
        };
        const bn = el('label', { class: 'layer-bn' });
        const bnc = el('input', { type: 'checkbox', 'aria-label': `batch norm in hidden layer ${l}` });
        bnc.checked = s.batchNorm[l - 1] ?? false;
        bnc.onchange = () => {
          const b = s.batchNorm.slice();
          b[l - 1] = bnc.checked;
          setSpec({ batchNorm: b });
        };
        bn.append(bnc, el('span', {}, 'BN'));
        head.append(act, drop, bn);
      }
      head.append(
        el('div', { class: 'layer-stat', id: `stat-${l - 1}` }),
        el('canvas', {
          class: 'spark',
          id: `spark-${l - 1}`,
          width: '96',
          height: '22',
          'aria-hidden': 'true',
          title: '‖∂L/∂W‖ (orange) and ‖∂L/∂a‖ (blue) over the last 150 epochs, log scale',
        }),
      );
      box.append(head);
    }
  }
  const layers = el('div', { class: 'layers-control ui-numHiddenLayers' });
  const addLayer = el('button', { id: 'add-layer', 'aria-label': 'add a hidden layer' }, '+');
  const removeLayer = el('button', { id: 'remove-layer', 'aria-label': 'remove a hidden layer' }, '−');
  addLayer.onclick = () => {
    if (s.networkShape.length < lim.layers) setSpec({ networkShape: [...s.networkShape, 2] });
  };
  removeLayer.onclick = () => {
    if (s.networkShape.length > 0) setSpec({ networkShape: s.networkShape.slice(0, -1) });
  };
  layers.append(addLayer, removeLayer, el('span', { id: 'num-layers' }, `${s.networkShape.length} hidden layer${s.networkShape.length === 1 ? '' : 's'}`));
  host.replaceChildren(diagramBar(), layers, box);
  drawLinks();
}

/** An expression over the grid, scaled into [−1, 1] (non-finite values drawn as 0). */
function expressionGrid(fn: (x1: number, x2: number) => number): Float32Array {
  const m = new Float32Array(GRID * GRID);
  let max = 0;
  for (let j = 0; j < GRID; j++)
    for (let i = 0; i < GRID; i++) {
      const v = fn(-6 + (12 * i) / (GRID - 1), 6 - (12 * j) / (GRID - 1));
      m[j * GRID + i] = Number.isFinite(v) ? v : 0;
      max = Math.max(max, Math.abs(m[j * GRID + i]));
    }
  if (max > 0) for (let i = 0; i < m.length; i++) m[i] /= max;
  return m;
}

function reduceTo(m: Float32Array, size: number): Float32Array {
  const f = GRID / size;
  const out = new Float32Array(size * size);
  for (let j = 0; j < GRID; j++) for (let i = 0; i < GRID; i++) out[Math.floor(j / f) * size + Math.floor(i / f)] += m[j * GRID + i] / (f * f);
  return out;
}

/** Links between nodes, their width and colour from the weight; an invisible wide path takes hover and clicks. */
// The links are built once per network shape and then only restyled, so a
// frame during Play touches attributes, never creates elements.
interface LinkView {
  l: number;
  out: number;
  inp: number;
  /** A wide, faint orange stroke under the link: it glows with its layer's ‖∂L/∂W‖. */
  halo: SVGPathElement;
  path: SVGPathElement;
  hit: SVGPathElement;
  title: SVGTitleElement;
}
interface BiasView {
  l: number;
  out: number;
  rect: SVGRectElement;
  title: SVGTitleElement;
}
let linkShape = '';
let linkViews: LinkView[] = [];
let biasViews: BiasView[] = [];
const SVG_NS = 'http://www.w3.org/2000/svg';

function buildLinks(svg: SVGSVGElement, frame: Snapshot): void {
  svg.replaceChildren();
  linkViews = [];
  biasViews = [];
  const s = state.spec;
  const active = activeFeatures(s);
  const custom = s.mode === 'compat' ? [] : s.customFeatures;
  const rowsOf = (l: number) =>
    l === 0
      ? [...active.map((f) => FEATURES.indexOf(f)), ...custom.map((_, k) => FEATURES.length + k)]
      : Array.from({ length: frame.weights[l - 1].length }, (_, i) => i);
  const currentWeight = (l: number, out: number, inp: number) => state.frame?.weights[l]?.[out]?.[inp] ?? 0;
  const currentBias = (l: number, out: number) => state.frame?.biases[l]?.[out] ?? 0;
  const onActivate = (node: SVGElement, edit: () => void) => {
    node.addEventListener('click', edit);
    node.addEventListener('keydown', (e) => {
      if ((e as KeyboardEvent).key === 'Enter') edit();
    });
  };
  for (let l = 0; l < frame.weights.length; l++) {
    const src = rowsOf(l);
    frame.weights[l].forEach((ws, out) => {
      ws.forEach((_w, inp) => {
        const [x1, y1] = nodePos(l, src[inp]);
        const [x2, y2] = nodePos(l + 1, out);
        const a = [x1 + NODE, y1 + NODE / 2];
        const b = [x2, y2 + NODE / 2];
        const mid = (a[0] + b[0]) / 2;
        const d = `M${a[0]},${a[1]} C${mid},${a[1]} ${mid},${b[1]} ${b[0]},${b[1]}`;
        const halo = document.createElementNS(SVG_NS, 'path');
        halo.setAttribute('d', d);
        halo.setAttribute('class', 'halo');
        const path = document.createElementNS(SVG_NS, 'path');
        path.setAttribute('d', d);
        const hit = document.createElementNS(SVG_NS, 'path');
        hit.setAttribute('d', d);
        hit.setAttribute('class', 'link-hit');
        hit.setAttribute('tabindex', '0');
        hit.setAttribute('role', 'button');
        const title = document.createElementNS(SVG_NS, 'title');
        hit.append(title);
        onActivate(hit, () =>
          editValue(`Weight ${l}:${out}:${inp}`, currentWeight(l, out, inp), (v) =>
            client.send({ type: 'setWeight', layer: l, output: out, input: inp, value: v }),
          ),
        );
        svg.append(halo, path, hit);
        linkViews.push({ l, out, inp, halo, path, hit, title });
      });
      // The bias: a small square at the node's lower left, coloured by its value.
      const [x2, y2] = nodePos(l + 1, out);
      const rect = document.createElementNS(SVG_NS, 'rect');
      rect.setAttribute('x', String(x2 - 6));
      rect.setAttribute('y', String(y2 + NODE - 6));
      rect.setAttribute('width', '6');
      rect.setAttribute('height', '6');
      rect.setAttribute('class', 'bias');
      rect.setAttribute('tabindex', '0');
      rect.setAttribute('role', 'button');
      const title = document.createElementNS(SVG_NS, 'title');
      rect.append(title);
      onActivate(rect, () =>
        editValue(`Bias ${l}:${out}`, currentBias(l, out), (v) => client.send({ type: 'setWeight', layer: l, output: out, input: -1, value: v })),
      );
      svg.append(rect);
      biasViews.push({ l, out, rect, title });
    });
  }
}

function drawLinks(): void {
  const svg = document.getElementById('links') as SVGSVGElement | null;
  const frame = state.frame;
  if (!svg) return;
  const s = state.spec;
  if (!frame || frame.weights.length !== s.networkShape.length + 1) {
    svg.replaceChildren();
    linkShape = '';
    return;
  }
  const active = activeFeatures(s);
  const inputNames = [...active.map((f) => FEATURE_LABELS[f]), ...(s.mode === 'compat' ? [] : s.customFeatures)];
  // A frame of the network before an input change: wait for the next one.
  if ((frame.weights[0]?.[0]?.length ?? inputNames.length) !== inputNames.length) return;
  const shape = JSON.stringify([inputNames, frame.weights.map((w) => [w.length, w[0]?.length ?? 0])]);
  if (shape !== linkShape || svg.childElementCount === 0) {
    buildLinks(svg, frame);
    linkShape = shape;
  }
  const frozen = new Set(frame.frozen.map((f) => f.join(':')));
  const last = frame.weights.length - 1;
  // Glow: a layer's ‖∂L/∂W‖ on a log scale, 1e-4 (none) to 1 (full), so vanishing gradients show as dark layers.
  const glow = frame.gradNorms.map((g) => (g > 0 ? Math.max(0, Math.min(1, (Math.log10(g) + 4) / 4)) : 0));
  for (const v of linkViews) {
    const w = frame.weights[v.l][v.out][v.inp];
    v.halo.setAttribute('stroke-opacity', (0.55 * (glow[v.l] ?? 0)).toFixed(2));
    v.halo.setAttribute('stroke-width', String(6 + (9 * Math.min(5, Math.abs(w))) / 5));
    v.path.setAttribute('class', `link${state.playing ? ' moving' : ''}${frozen.has(`${v.l}:${v.out}:${v.inp}`) ? ' frozen' : ''}`);
    v.path.setAttribute('stroke', cssColor(Math.max(-1, Math.min(1, w))));
    v.path.setAttribute('stroke-width', String(1 + (9 * Math.min(5, Math.abs(w))) / 5));
    v.path.style.strokeDashoffset = String(-frame.epoch / 3);
    const from = v.l === 0 ? inputNames[v.inp] : `neuron ${v.l}:${v.inp + 1}`;
    v.hit.setAttribute(
      'aria-label',
      `weight from ${from} to ${v.l === last ? 'output' : `neuron ${v.l + 1}:${v.out + 1}`}: ${w.toPrecision(2)}; press Enter to edit`,
    );
    v.title.textContent = `Weight is ${w.toPrecision(2)}`;
  }
  for (const v of biasViews) {
    const bias = frame.biases[v.l][v.out];
    v.rect.setAttribute('fill', cssColor(Math.max(-1, Math.min(1, bias))));
    v.rect.setAttribute('aria-label', `bias of neuron ${v.l + 1}:${v.out + 1}: ${bias.toPrecision(2)}; press Enter to edit`);
    v.title.textContent = `Bias is ${bias.toPrecision(2)}`;
  }
}

function editValue(what: string, value: number, apply: (v: number) => void): void {
  const box = $('editor');
  const input = el('input', { type: 'text', inputmode: 'decimal', value: value.toPrecision(4), 'aria-label': `${what} value` });
  const err = el('span', { class: 'err', role: 'alert' });
  const ok = el('button', {}, 'Set');
  const commit = () => {
    const v = Number(input.value.trim());
    if (input.value.trim() === '' || !Number.isFinite(v)) {
      err.textContent = `"${input.value}" is not a number; the ${what.toLowerCase()} stays ${value.toPrecision(4)}`;
      return;
    }
    apply(v);
    box.hidden = true;
    requestFrame();
  };
  ok.onclick = commit;
  input.onkeydown = (e) => {
    if (e.key === 'Enter') commit();
    if (e.key === 'Escape') box.hidden = true;
  };
  box.replaceChildren(el('span', {}, `${what}: `), input, ok, err);
  box.hidden = false;
  input.focus();
  input.select();
}

function showNeuronInfo(id: string): void {
  const [l, u] = id.split(':').map(Number);
  const f = state.frame;
  if (!f) return;
  const s = state.spec;
  const last = l === s.networkShape.length;
  const act = last ? (s.problem === 'classification' && s.loss === 'mse' && s.classes <= 2 ? 'tanh' : 'identity') : activationOf(s, l);
  const w = f.weights[l]?.[u] ?? [];
  const inputs = [...activeFeatures(s).map((n) => FEATURE_LABELS[n]), ...(s.mode === 'compat' ? [] : s.customFeatures.map((c) => `(${c})`))];
  const terms = w.map((v, i) => `${v.toFixed(2)}·${l === 0 ? inputs[i] : `h${l}${i + 1}`}`).join(' + ');
  $('neuron-info').textContent = `${last ? 'output' : `h${l + 1}${u + 1}`} = ${act}(${terms} + ${(f.biases[l]?.[u] ?? 0).toFixed(2)})`;
}

// ---------------------------------------------------------------- A/B
let runB: CompareRun | null = null;

/** Start, update or stop run B to match the spec's `compare`. */
function syncCompare(): void {
  const b = compareSpec(state.spec);
  if (b === null) {
    if (runB) {
      runB.close();
      runB = null;
      resetChart();
      $('compare-panel').replaceChildren();
    }
    return;
  }
  if (runB === null) {
    runB = new CompareRun(
      b,
      workerUrl,
      preferWorker,
      () => renderCompare(),
      (text, level) => message(text, level),
    );
    if (state.playing) runB.play();
    resetChart();
    runB.requestFrame();
  } else if (JSON.stringify(runB.spec) !== JSON.stringify(b)) {
    runB.setSpec(b);
    if (needsReset(runB.spec, b)) runB.history = [];
    runB.requestFrame();
  }
  buildComparePanel();
}

function toggleCompare(): void {
  if (state.spec.compare !== '') {
    setSpec({ compare: '' });
    return;
  }
  // B starts as a copy of A; both start over from their initial weights so their curves line up.
  setSpec({ compare: serializeHash({ ...state.spec, compare: '', epoch: 0, hidden: [] }) });
  reset();
}

function setB(change: Partial<Spec>): void {
  const b = compareSpec(state.spec);
  if (!b) return;
  setSpec({ compare: serializeHash({ ...b, ...change }) });
}

function group(cls: string, ...children: HTMLElement[]): HTMLElement {
  const div = el('div', { class: cls });
  div.append(...children);
  return div;
}

function labelled(text: string, control: HTMLElement): HTMLElement {
  const wrap = el('label', { class: 'control' }, text);
  wrap.append(control);
  return wrap;
}

function buildComparePanel(): void {
  const host = $('compare-panel');
  const b = compareSpec(state.spec);
  if (!b) {
    host.replaceChildren();
    return;
  }
  const shape = el('input', { id: 'b-networkShape', type: 'text', value: b.networkShape.join(','), size: '8', 'aria-label': "run B's hidden layer sizes" });
  shape.onchange = () => {
    const sizes = shape.value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '')
      .map(Number);
    const lim = limitsOf(b);
    if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > lim.neurons) || sizes.length > lim.layers) {
      message(
        `Run B's layers: "${shape.value}" should be up to ${lim.layers} whole numbers from 1 to ${lim.neurons}, separated by commas. B is unchanged.`,
        'error',
      );
      shape.value = b.networkShape.join(',');
      return;
    }
    setB({ networkShape: sizes, layerActivations: sizes.map(() => ''), dropout: sizes.map(() => 0), batchNorm: sizes.map(() => false) });
  };
  const close = el('button', { id: 'compare-close' }, 'End comparison');
  close.onclick = toggleCompare;
  host.replaceChildren(
    el('h3', {}, 'A/B comparison'),
    el('p', { id: 'compare-diff', class: 'diff' }, `Run B (dashed curves) trains on the same data with: ${describeDifference(state.spec, b)}.`),
    group(
      'b-controls',
      select('b-optimizer', 'B optimizer', OPTIMIZERS, b.optimizer, (v) => setB({ optimizer: v as Spec['optimizer'] })),
      select('b-learningRate', 'B learning rate', LEARNING_RATES, b.learningRate, (v) => setB({ learningRate: Number(v) })),
      select('b-activation', 'B activation', ACTIVATIONS, b.activation, (v) => setB({ activation: v as Spec['activation'] })),
      select('b-init', 'B initializer', INITS, b.init, (v) => setB({ init: v as Spec['init'] })),
      ...(b.problem === 'classification' ? [select('b-loss', 'B loss', LOSSES, b.loss, (v) => setB({ loss: v as Spec['loss'] }))] : []),
      slider('b-batchSize', 'B batch size', 1, limitsOf(b).batch, 1, b.batchSize, (v) => setB({ batchSize: v })),
      labelled('B hidden layers ', shape),
    ),
    el('table', { id: 'compare-table', class: 'compare' }),
    el('canvas', { id: 'b-heatmap', class: 'b-map', width: '100', height: '100', 'aria-label': "run B's output over the plane" }),
    close,
  );
  renderCompare();
}

/** The A/B numbers: epoch, losses, score, speed and training time for each run. */
let lastCompare = 0;
function renderCompare(): void {
  const table = document.getElementById('compare-table');
  if (!runB || !table) return;
  // Run B's frames arrive as fast as A's: its table and the shared chart follow at 10 Hz while playing.
  const t = performance.now();
  if (state.playing && t - lastCompare < 100) return;
  lastCompare = t;
  const a = state.frame;
  const b = runB.frame;
  const score = state.spec.problem === 'classification' ? 'test accuracy' : 'test R²';
  const fmtScore = (v: number | undefined) => (v === undefined ? '–' : state.spec.problem === 'classification' ? `${(100 * v).toFixed(1)}%` : v.toFixed(3));
  const row = (name: string, f: Snapshot | null, rate: number, seconds: number) => {
    const tr = el('tr');
    tr.append(
      el('th', {}, name),
      ...[
        f ? String(f.epoch) : '–',
        f ? f.trainLoss.toFixed(3) : '–',
        f ? f.testLoss.toFixed(3) : '–',
        fmtScore(f?.testScore),
        rate > 0 ? rate.toFixed(0) : '–',
        seconds.toFixed(2),
      ].map((v) => el('td', {}, v)),
    );
    return tr;
  };
  const head = el('tr');
  head.append(...['run', 'epoch', 'train loss', 'test loss', score, 'epochs/s', 'training time (s)'].map((h) => el('th', {}, h)));
  table.replaceChildren(head, row('A', a, state.rate, state.trainSeconds), row('B', b, runB.rate, runB.trainSeconds));
  const map = document.getElementById('b-heatmap') as HTMLCanvasElement | null;
  if (map && b) paintMap(map, b.grid, GRID, state.spec.discretize, b.confidence, state.spec.classes);
  if (state.frame) drawChart();
}

// ---------------------------------------------------------------- chart
let chart: uPlot | null = null;
function resetChart(): void {
  chart?.destroy();
  chart = null;
}
function drawChart(): void {
  const h = state.history;
  const hb = runB?.history ?? [];
  const host = $('chart');
  // Both runs' records by epoch (epochs count from 1); decimation keeps at most ~1,000 x values, the newest included.
  const last = Math.max(h.at(-1)?.epoch ?? 0, hb.at(-1)?.epoch ?? 0);
  const first = Math.min(h[0]?.epoch ?? last, hb[0]?.epoch ?? last);
  const stride = Math.max(1, Math.ceil((last - first + 1) / 1000));
  const epochs: number[] = [];
  for (let e = first; e <= last; e += stride) epochs.push(e);
  if (epochs.at(-1) !== last && last > 0) epochs.push(last);
  const at = (records: EpochRecord[], e: number) => {
    const r = records[e - (records[0]?.epoch ?? 1)];
    return r !== undefined && r.epoch === e ? r : undefined;
  };
  const value = (records: EpochRecord[], pick: (r: EpochRecord) => number) =>
    epochs.map((e) => {
      const r = at(records, e);
      return r === undefined ? null : pick(r);
    });
  const data: uPlot.AlignedData = [
    epochs,
    value(h, (r) => Math.max(1e-6, r.trainLoss)),
    value(h, (r) => Math.max(1e-6, r.testLoss)),
    value(h, (r) => r.lr),
    ...(runB ? [value(hb, (r) => Math.max(1e-6, r.trainLoss)), value(hb, (r) => Math.max(1e-6, r.testLoss))] : []),
  ];
  if (!chart) {
    chart = new uPlot(
      {
        width: 300,
        height: 150,
        scales: { x: { time: false }, y: { distr: state.logY ? 3 : 1 }, lr: {} },
        axes: [{ label: 'epoch', size: 30 }, { size: 44 }, { scale: 'lr', side: 1, size: 44, grid: { show: false } }],
        series: [
          { label: 'epoch' },
          { label: 'train', stroke: '#777', width: 1.5, value: (_u, v) => (v == null ? '–' : v.toFixed(4)) },
          { label: 'test', stroke: '#000', width: 1.5, value: (_u, v) => (v == null ? '–' : v.toFixed(4)) },
          { label: 'lr', stroke: '#0877bd', width: 1, dash: [4, 3], scale: 'lr', value: (_u, v) => (v == null ? '–' : v.toPrecision(2)) },
          ...(runB
            ? [
                { label: 'B train', stroke: '#e6a04e', width: 1.5, dash: [6, 3], value: (_u: uPlot, v: number | null) => (v == null ? '–' : v.toFixed(4)) },
                { label: 'B test', stroke: '#b35900', width: 1.5, dash: [6, 3], value: (_u: uPlot, v: number | null) => (v == null ? '–' : v.toFixed(4)) },
              ]
            : []),
        ],
        legend: { show: true },
      },
      data,
      host,
    );
  } else chart.setData(data);
}

/**
 * One layer's gradient history as two lines on a shared log scale: ‖∂L/∂W‖
 * orange, ‖∂L/∂a‖ blue. A 6-layer sigmoid net shows the vanishing gradient
 * as lines that sit lower layer by layer.
 */
function paintSparkline(canvas: HTMLCanvasElement, records: readonly EpochRecord[], layer: number): void {
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  const w = canvas.width;
  const h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const series = [records.map((r) => r.gradW[layer] ?? 0), records.map((r) => r.gradA[layer] ?? 0)];
  const logs = series
    .flat()
    .filter((v) => v > 0)
    .map(Math.log10);
  if (logs.length === 0) return;
  const lo = Math.min(...logs);
  const hi = Math.max(...logs, lo + 1e-3);
  const colors = ['#f59322', '#0877bd'];
  series.forEach((values, k) => {
    ctx.strokeStyle = colors[k];
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    let started = false;
    values.forEach((v, i) => {
      if (!(v > 0)) return;
      const x = values.length === 1 ? w / 2 : (i / (values.length - 1)) * (w - 2) + 1;
      const y = h - 2 - ((Math.log10(v) - lo) / (hi - lo)) * (h - 4);
      if (started) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
      started = true;
    });
    ctx.stroke();
  });
}

// ---------------------------------------------------------------- render
let lastSlow = 0;
/** How long the last 600 frames took to draw, in ms (the test hook reports them). */
const renderTimes: number[] = [];
function render(): void {
  const f = state.frame;
  if (!f) return;
  const s = state.spec;
  // The heatmaps and links follow every frame; the chart and tables follow at 15 Hz while playing (always when paused).
  const t = performance.now();
  const slow = !state.playing || t - lastSlow > 66;
  if (slow) lastSlow = t;
  const multi = f.confidence !== null;
  const classes = s.classes;
  $('epoch').textContent = String(f.epoch)
    .padStart(6, '0')
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  $('loss-train').textContent = f.trainLoss.toFixed(3);
  $('loss-test').textContent = f.testLoss.toFixed(3);
  const sel = state.selected !== null && f.selected ? f.selected : null;
  const out = $<HTMLCanvasElement>('heatmap');
  const curve = $<HTMLCanvasElement>('curve');
  const isCurve = s.problem === 'curve' && f.curve !== null;
  curve.hidden = !isCurve;
  out.hidden = isCurve;
  $('points').hidden = isCurve;
  if (isCurve && f.curve && state.data)
    paintCurve(curve, f.curve.fit, state.parts ? f.curve.parts : null, f.curve.bias, state.data.train, s.showTestData ? state.data.test : []);
  if (sel) {
    const [l] = (state.selected as string).split(':').map(Number);
    const isOut = l === s.networkShape.length;
    paintMap(out, isOut && !multi ? f.grid : sel, GRID, s.discretize);
  } else paintMap(out, f.grid, GRID, s.discretize, f.confidence, classes);
  if (state.data)
    paintPoints(
      $<HTMLCanvasElement>('points'),
      state.data.train,
      s.showTestData ? state.data.test : [],
      multi || (s.problem === 'classification' && classes > 2),
      state.shapes,
      s.problem === 'regression',
    );
  f.tiles.forEach((layer, l) => {
    layer.forEach((t, u) => {
      const c = nodeCanvases.get(`${l}:${u}`);
      if (c) paintMap(c, t, TILE, s.discretize);
    });
  });
  f.dead.forEach((units, l) => {
    for (let u = 0; u < s.networkShape[l]; u++) {
      const node = document.querySelector(`[data-node="${l}:${u}"]`);
      node?.classList.toggle('dead', units.includes(u));
      node?.classList.toggle('dropped', f.dropped[l]?.includes(u) ?? false);
    }
  });
  f.gradNorms.forEach((g, l) => {
    const st = document.getElementById(`stat-${l}`);
    if (st) {
      const dead = f.dead[l]?.length ?? 0;
      const a = f.actGradNorms[l];
      st.textContent = `‖∂L/∂W‖ ${g.toExponential(1)}${a !== undefined ? ` · ‖∂L/∂a‖ ${a.toExponential(1)}` : ''}${dead ? ` · ${dead} dead` : ''}`;
      st.style.setProperty('--g', String(Math.min(1, Math.log10(1 + g * 100) / 2)));
    }
    const spark = document.getElementById(`spark-${l}`) as HTMLCanvasElement | null;
    if (spark && slow) paintSparkline(spark, state.history.slice(-150), l);
  });
  if (s.diagram === 'lecture') drawLecture();
  else drawLinks();
  if (slow) renderSlowParts(f, multi);
  const now = performance.now();
  if (now - lastLive > 1000 || !state.playing) {
    lastLive = now;
    $('live').textContent = `Epoch ${f.epoch}. Training loss ${f.trainLoss.toFixed(3)}, test loss ${f.testLoss.toFixed(3)}.`;
  }
  if (state.selected) showNeuronInfo(state.selected);
}

/** The chart, the metrics table and the status line: rebuilt at most 15 times a second during Play. */
function renderSlowParts(f: Snapshot, multi: boolean): void {
  const s = state.spec;
  const metrics = $('metrics');
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  if (s.problem === 'classification') {
    const k = f.confusion.length;
    const labels = k === 2 && !multi ? ['−1', '+1'] : Array.from({ length: k }, (_, i) => String(i));
    const table = el('table', { class: 'confusion', 'aria-label': 'confusion matrix on the test data (rows: true class, columns: predicted)' });
    const head = el('tr');
    head.append(el('th', {}, 'true \\ pred'), ...labels.map((l) => el('th', {}, l)));
    table.append(head);
    f.confusion.forEach((row, i) => {
      const tr = el('tr');
      tr.append(el('th', {}, labels[i]), ...row.map((v) => el('td', {}, String(v))));
      table.append(tr);
    });
    metrics.replaceChildren(el('div', {}, `Accuracy: train ${pct(f.trainScore)}, test ${pct(f.testScore)}`), table);
  } else metrics.replaceChildren(el('div', {}, `R²: train ${f.trainScore.toFixed(3)}, test ${f.testScore.toFixed(3)} · test RMSE ${f.testRmse.toFixed(3)}`));
  $('status').textContent =
    `${client.kind === 'worker' ? 'Web Worker' : 'main thread'} · ${state.backend} backend · ${state.playing ? `${state.rate.toFixed(0)} epochs/s` : 'paused'}`;
  drawChart();
}

// ---------------------------------------------------------------- page
function buildToolbar(): void {
  const bar = $('toolbar');
  const resetB = el('button', { id: 'reset', 'aria-label': 'Reset the network', title: 'Reset (R)' }, '↺');
  resetB.onclick = reset;
  const playB = el('button', { id: 'play', class: 'play', 'aria-label': 'Play', title: 'Play (Space)' }, '▶');
  playB.onclick = togglePlay;
  const stepB = el('button', { id: 'step', 'aria-label': 'Step one epoch', title: 'Step (→)' }, '▶|');
  stepB.onclick = () => void step(1);
  const reinitB = el('button', { id: 'reinit', 'aria-label': 'Re-initialise with a new init seed', title: 'New initial weights' }, '⟳ init');
  reinitB.onclick = reinit;
  const speed = el('select', { id: 'speed', 'aria-label': 'Training speed' });
  for (const v of SPEEDS) speed.append(el('option', { value: String(v) }, v === 0 ? 'max speed' : `${v} epochs/s`));
  speed.value = '0';
  speed.onchange = () => {
    client.send({ type: 'speed', epochsPerSecond: Number(speed.value) });
    runB?.speed(Number(speed.value));
  };
  const exportJ = el('button', { id: 'export-json' }, 'Export model (JSON)');
  exportJ.onclick = async () => {
    const r = await client.call<{ json: string; typescript: string }>({ type: 'export', id: newId() });
    save('neurite-playground-model.json', r.json, 'application/json');
  };
  const exportSt = el(
    'button',
    { id: 'export-safetensors', title: 'The weights as a safetensors file (the spec in its metadata): neurite, PyTorch and others read it' },
    'Export (safetensors)',
  );
  exportSt.onclick = async () => {
    const bytes = await client.call<Uint8Array>({ type: 'exportSafetensors', id: newId() });
    saveBytes('neurite-playground-model.safetensors', bytes);
  };
  const exportTs = el('button', { id: 'export-ts' }, 'Copy as TypeScript');
  exportTs.onclick = async () => {
    const r = await client.call<{ json: string; typescript: string }>({ type: 'export', id: newId() });
    $<HTMLTextAreaElement>('snippet').value = r.typescript;
    $('snippet').hidden = false;
    try {
      await navigator.clipboard.writeText(r.typescript);
      message('The TypeScript program is on the clipboard (and shown below the chart).');
    } catch {
      message('The TypeScript program is shown below the chart; the clipboard was not available.');
    }
  };
  const importJ = el('input', {
    id: 'import-json',
    type: 'file',
    accept: '.json,.safetensors,application/json',
    'aria-label': 'Import an exported model (JSON or safetensors)',
  });
  importJ.onchange = async () => {
    const file = importJ.files?.[0];
    importJ.value = '';
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    // A JSON export starts with "{"; anything else is read as safetensors.
    if (bytes[0] === 0x7b) await importModel(new TextDecoder().decode(bytes));
    else await importModel(bytes);
  };
  const compare = el(
    'button',
    { id: 'compare', title: 'Train a second run B beside this one on the same data, and compare their curves and speed' },
    'A/B compare',
  );
  compare.onclick = toggleCompare;
  const link = el('button', { id: 'link-epoch', title: 'A link that replays this run to the current epoch' }, 'Link to this epoch');
  link.onclick = async () => {
    const url = `${location.origin}${location.pathname}#${serializeHash({ ...state.spec, epoch: state.frame?.epoch ?? 0 })}`;
    $<HTMLTextAreaElement>('snippet').value = url;
    $('snippet').hidden = false;
  };
  bar.replaceChildren(
    resetB,
    playB,
    stepB,
    reinitB,
    el('span', { class: 'epoch-label' }, 'Epoch '),
    el('span', { id: 'epoch', class: 'epoch' }, '000,000'),
    speed,
    exportJ,
    exportSt,
    exportTs,
    el('label', { class: 'file' }, 'Import model: '),
    importJ,
    compare,
    link,
  );
}

async function importModel(source: string | Uint8Array): Promise<boolean> {
  try {
    if (typeof source === 'string') await client.call({ type: 'import', text: source, id: newId() });
    else await client.call({ type: 'importSafetensors', bytes: source, id: newId() });
    state.history = [];
    resetChart();
    await fetchFrame();
    message('Model imported.');
    return true;
  } catch (e) {
    message(`Import: ${e instanceof Error ? e.message : String(e)}. The current model is kept.`, 'error');
    return false;
  }
}

function onPlotClick(e: MouseEvent): void {
  if (state.addClass === null || state.spec.problem !== 'classification') return;
  const c = e.currentTarget as HTMLCanvasElement;
  const r = c.getBoundingClientRect();
  const x = ((e.clientX - r.left) / r.width) * 12 - 6;
  const y = 6 - ((e.clientY - r.top) / r.height) * 12;
  const k = Math.max(2, state.spec.classes);
  const label = k === 2 ? (state.addClass === 1 ? 1 : -1) : state.addClass;
  if (state.userPoints.length === 0 && state.data) state.userPoints = [...state.data.train, ...state.data.test].map((p) => ({ ...p }));
  state.userPoints.push({ x, y, label });
  client.send({ type: 'userPoints', points: state.userPoints });
  requestFrame();
}

function keyboard(e: KeyboardEvent): void {
  const t = e.target as HTMLElement;
  if (['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName) || t.getAttribute('role') === 'button') return;
  if (e.key === ' ' && t.tagName !== 'BUTTON') {
    e.preventDefault();
    togglePlay();
  } else if (e.key === 'ArrowRight') void step(1);
  else if (e.key === 'r' || e.key === 'R') reset();
}

function installTestHook(): void {
  const grid = (x: number, y: number) => {
    const f = state.frame as Snapshot;
    const i = Math.round(((x + 6) / 12) * (GRID - 1));
    const j = Math.round(((6 - y) / 12) * (GRID - 1));
    return f.grid[Math.max(0, Math.min(GRID - 1, j)) * GRID + Math.max(0, Math.min(GRID - 1, i))];
  };
  (window as unknown as { __pg: unknown }).__pg = {
    spec: () => structuredClone(state.spec),
    hash: () => location.hash,
    step: (n = 1) => step(n),
    epoch: async () => {
      await fetchFrame();
      return state.frame?.epoch ?? 0;
    },
    losses: async () => {
      await fetchFrame();
      const f = state.frame as Snapshot;
      return { train: f.trainLoss.toFixed(3), test: f.testLoss.toFixed(3), trainExact: f.trainLoss, testExact: f.testLoss, testScore: f.testScore };
    },
    weightsHash: () => client.call<string>({ type: 'hash', id: newId() }),
    gridAt: async (x: number, y: number) => {
      await fetchFrame();
      return grid(x, y);
    },
    /** The 1-D fit at x1, its unit parts' sum plus the bias there, and the curve canvas's visibility. */
    curveAt: async (x: number) => {
      await fetchFrame();
      const c = state.frame?.curve;
      if (!c) return null;
      const i = Math.round(((x + 6) / 12) * (CURVE_SAMPLES - 1));
      return { fit: c.fit[i], sum: c.bias + c.parts.reduce((t, p) => t + p[i], 0), shown: !$('curve').hidden };
    },
    outputAt: (x: number, y: number) => client.call<number>({ type: 'outputAt', x, y, id: newId() }),
    snapshot: async () => {
      await fetchFrame();
      return state.frame;
    },
    playing: () => state.playing,
    rate: () => state.rate,
    client: () => client.kind,
    importModel,
    exportModel: () => client.call<{ json: string; typescript: string }>({ type: 'export', id: newId() }),
    exportSafetensors: async () => Array.from(await client.call<Uint8Array>({ type: 'exportSafetensors', id: newId() })),
    importSafetensors: (bytes: number[]) => importModel(Uint8Array.from(bytes)),
    errors: () => consoleErrors.slice(),
    /** The page's own drawing time per frame: the longest and the median of the last 600 frames, in ms. */
    renderMs: () => {
      const sorted = renderTimes.slice().sort((a, b) => a - b);
      return { max: sorted.at(-1) ?? 0, median: sorted[Math.floor(sorted.length / 2)] ?? 0, frames: sorted.length };
    },
    /** Run B of an A/B comparison: its epoch, test loss, weights hash and the spec it runs, or null. */
    compareB: async () => {
      if (!runB) return null;
      await runB.fetchFrame();
      return {
        epoch: runB.frame?.epoch ?? 0,
        testLoss: runB.frame?.testLoss ?? 0,
        hash: await runB.weightsHash(),
        spec: structuredClone(runB.spec),
        history: runB.history.length,
      };
    },
    /** The lecture diagram of the current frame, as the exported file's text. */
    diagramSvg: () => (state.frame ? svgText(lectureDiagram(diagramInput(state.frame))) : ''),
  };
}

window.addEventListener('error', (e) => consoleErrors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => consoleErrors.push(String(e.reason)));

function start(): void {
  for (const w of initial.warnings) message(`URL: ${w}`, 'warn');
  if (initial.spec.mode === 'compat' && location.hash !== '')
    message(
      'This is a playground.tensorflow.org link: compat mode reproduces that app (MSE on a tanh output, plain SGD). Switch Mode to default for the fixes.',
    );
  buildToolbar();
  buildControls();
  buildNetwork();
  updatePlayButton();
  writeHash(false);
  client.send({ type: 'init', spec: state.spec });
  syncCompare();
  $('points').addEventListener('click', onPlotClick as EventListener);
  document.addEventListener('keydown', keyboard);
  window.addEventListener('popstate', applyHash);
  window.addEventListener('hashchange', applyHash);
  installTestHook();
  requestFrame();
  requestAnimationFrame(loop);
  // Multi-class swatches for the legend.
  $('legend-classes').replaceChildren(...CLASS_COLORS.map((c, i) => el('span', { class: 'swatch', style: `background:rgb(${c.join(',')})` }, String(i))));
}

start();
