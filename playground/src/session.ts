// The training side of the app: owns the data, the experiment and the random
// streams, answers the page's requests and runs epochs while playing. No DOM:
// worker.ts runs it in a Web Worker; without workers the page runs it itself
// in short slices (see client.ts).
import { classesIn, generateFor, newSeed, type Point2D, type Random, type Split, splitUserPoints } from './datasets.js';
import { Experiment, type Snapshot, typescriptSnippet } from './engine.js';
import { backendReady, decodeSafetensors, getBackend, loadCheckedStateDict, setNumThreads, weightsToSafetensors } from './neurite.js';
import { needsReset, normalizeSpec, type Spec } from './spec.js';

export type Request =
  | { type: 'init'; spec: Spec; userPoints?: Point2D[] }
  | { type: 'spec'; spec: Spec }
  | { type: 'play' }
  | { type: 'pause' }
  | { type: 'step'; epochs: number; id: number }
  | { type: 'speed'; epochsPerSecond: number }
  | { type: 'reset' }
  | { type: 'regenerate' }
  | { type: 'frame'; selected: string | null; run?: number; since?: number; mask?: number | null }
  | { type: 'setWeight'; layer: number; output: number; input: number; value: number }
  | { type: 'userPoints'; points: Point2D[] }
  | { type: 'export'; id: number }
  | { type: 'exportSafetensors'; id: number }
  | { type: 'import'; text: string; id: number }
  | { type: 'importSafetensors'; bytes: Uint8Array; id: number }
  | { type: 'outputAt'; x: number; y: number; id: number }
  | { type: 'hash'; id: number };

export type Reply =
  | {
      type: 'frame';
      snapshot: Snapshot;
      run: number;
      playing: boolean;
      spec: Spec;
      data: Split;
      backend: string;
      epochsPerSecond: number;
      /** Wall time spent training this run so far, in seconds (A/B comparisons show it). */
      trainSeconds: number;
    }
  | { type: 'spec'; spec: Spec }
  | { type: 'done'; id: number; value?: unknown; error?: string }
  | { type: 'message'; text: string; level: 'info' | 'error' };

/** Wall-clock budget of one slice of epochs, so requests are answered promptly. */
const SLICE_MS = 8;

export class Session {
  private spec!: Spec;
  private data!: Split;
  private experiment!: Experiment;
  /** Compat mode's stream: seeded by the data seed, it goes on to draw weights, and later seeds. */
  private stream: Random = Math.random;
  private userPoints: Point2D[] = [];
  private playing = false;
  private targetRate = 0; // epochs per second; 0 = as fast as possible
  private measuredRate = 0;
  private rateWindow: { t: number; epoch: number } = { t: 0, epoch: 0 };
  private budgetStart = 0;
  private budgetEpochs = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Bumped whenever the history starts over, so the page drops the records it holds. */
  private run = 0;
  /** Milliseconds spent in training epochs since the run started. */
  private trainMs = 0;

  constructor(
    private readonly post: (reply: Reply) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  async handle(req: Request): Promise<void> {
    try {
      await this.dispatch(req);
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e);
      if ('id' in req) this.post({ type: 'done', id: req.id, error: text });
      else this.post({ type: 'message', text, level: 'error' });
    }
  }

  private async dispatch(req: Request): Promise<void> {
    switch (req.type) {
      case 'init': {
        // One thread: these networks are far too small to split, and the page's worker is one already.
        await backendReady();
        setNumThreads(1);
        this.userPoints = req.userPoints ?? [];
        this.spec = req.spec;
        this.rebuild(true);
        // A URL with epoch=N replays the run to that epoch.
        for (let i = 0; i < this.spec.epoch && this.experiment.trainEpoch(); i++);
        this.post({ type: 'spec', spec: this.spec });
        return;
      }
      case 'spec': {
        const before = this.spec;
        this.spec = req.spec;
        const dataChanged = ['problem', 'dataset', 'regDataset', 'curveDataset', 'boundary', 'noise', 'percTrainData', 'seed', 'classes', 'mode'].some(
          (k) => JSON.stringify(before[k as keyof Spec]) !== JSON.stringify(req.spec[k as keyof Spec]),
        );
        if (dataChanged) this.rebuild(true);
        else if (needsReset(before, req.spec)) this.rebuild(false);
        else {
          this.experiment.setHyper(req.spec);
          this.experiment.resume();
        }
        return;
      }
      case 'play':
        this.playing = true;
        this.experiment.resume();
        this.rateWindow = { t: this.now(), epoch: this.experiment.epoch };
        this.budgetStart = this.now();
        this.budgetEpochs = 0;
        this.schedule();
        return;
      case 'pause':
        this.playing = false;
        return;
      case 'step': {
        this.playing = false;
        this.experiment.resume();
        const t0 = this.now();
        for (let i = 0; i < req.epochs && this.experiment.trainEpoch(); i++);
        this.trainMs += this.now() - t0;
        this.post({ type: 'done', id: req.id, value: this.experiment.epoch });
        return;
      }
      case 'speed':
        this.targetRate = req.epochsPerSecond;
        this.budgetStart = this.now();
        this.budgetEpochs = 0;
        return;
      case 'reset':
        this.playing = false;
        if (this.spec.mode === 'compat')
          this.newExperiment(); // the original draws new weights from its stream
        else this.experiment.restoreInitial();
        this.run++;
        this.trainMs = 0;
        return;
      case 'regenerate': {
        // A new data seed; the trained weights meet the new data (the original's behaviour, kept in both modes).
        this.spec = { ...this.spec, seed: newSeed(this.spec.mode === 'compat' ? this.stream : Math.random) };
        this.makeData();
        const trained = this.experiment.stateArrays();
        const epoch = this.experiment.epoch;
        const history = this.experiment.history;
        this.newExperiment();
        this.experiment.loadStateArrays(trained);
        this.experiment.epoch = epoch;
        this.experiment.history = history;
        this.run++;
        this.post({ type: 'spec', spec: this.spec });
        return;
      }
      case 'frame': {
        // Only the history the page lacks travels, unless the run changed under it.
        const snapshot = this.experiment.snapshot(req.selected, req.run === this.run ? (req.since ?? 0) : 0, req.mask ?? null);
        if (snapshot.stopped !== null) this.playing = false;
        this.post({
          type: 'frame',
          snapshot,
          run: this.run,
          playing: this.playing,
          spec: this.spec,
          data: this.data,
          backend: getBackend().name,
          epochsPerSecond: this.measuredRate,
          trainSeconds: this.trainMs / 1000,
        });
        return;
      }
      case 'setWeight':
        this.experiment.setWeight(req.layer, req.output, req.input, req.value);
        return;
      case 'userPoints':
        this.userPoints = req.points;
        if (this.spec.problem === 'classification') this.spec = { ...this.spec, dataset: 'user', classes: classesIn(req.points) };
        else this.spec = { ...this.spec, regDataset: 'user' };
        this.rebuild(true);
        this.post({ type: 'spec', spec: this.spec });
        return;
      case 'export':
        this.post({
          type: 'done',
          id: req.id,
          value: {
            json: JSON.stringify({
              format: 'neurite-playground',
              version: 1,
              spec: this.spec,
              epoch: this.experiment.epoch,
              weights: this.experiment.stateArrays(),
            }),
            typescript: typescriptSnippet(this.spec, this.experiment.features, this.experiment.custom),
          },
        });
        return;
      case 'exportSafetensors':
        // The spec rides in the file's metadata, so the file alone rebuilds the network.
        this.post({
          type: 'done',
          id: req.id,
          value: weightsToSafetensors(this.experiment.model, {
            format: 'neurite-playground',
            spec: JSON.stringify(this.spec),
            epoch: String(this.experiment.epoch),
          }),
        });
        return;
      case 'importSafetensors': {
        const { tensors, metadata } = decodeSafetensors(req.bytes);
        if (metadata.format !== 'neurite-playground' || typeof metadata.spec !== 'string')
          throw new Error('import: this safetensors file has no playground spec in its metadata (export one from the playground, or use the JSON export)');
        this.replaceWith(normalizeSpec(JSON.parse(metadata.spec)), (e) => loadCheckedStateDict(e.model, tensors));
        this.post({ type: 'done', id: req.id, value: true });
        return;
      }
      case 'import': {
        const doc = JSON.parse(req.text) as { format?: unknown; spec?: Spec; weights?: Record<string, unknown>; epoch?: unknown };
        if (doc.format !== 'neurite-playground' || typeof doc.spec !== 'object' || doc.spec === null || typeof doc.weights !== 'object' || doc.weights === null)
          throw new Error('import: not a neurite playground export (expected "format": "neurite-playground" with spec and weights)');
        const weights = doc.weights;
        this.replaceWith(normalizeSpec(doc.spec), (e) => e.loadStateArrays(weights));
        this.post({ type: 'done', id: req.id, value: true });
        return;
      }
      case 'outputAt':
        this.post({ type: 'done', id: req.id, value: this.experiment.outputAt(req.x, req.y) });
        return;
      case 'hash':
        this.post({ type: 'done', id: req.id, value: this.experiment.weightsHash() });
        return;
    }
  }

  /**
   * An imported model: the run is rebuilt from `spec` and `load` fills in its
   * weights; if either fails, everything is put back as it was and the error
   * goes on to the page, so the current model stays.
   */
  private replaceWith(spec: Spec, load: (e: Experiment) => void): void {
    const saved = { spec: this.spec, data: this.data, experiment: this.experiment, stream: this.stream, run: this.run, trainMs: this.trainMs };
    try {
      this.spec = { ...spec, epoch: 0 };
      this.rebuild(true);
      load(this.experiment);
    } catch (e) {
      ({ spec: this.spec, data: this.data, experiment: this.experiment, stream: this.stream, run: this.run, trainMs: this.trainMs } = saved);
      throw e;
    }
    this.post({ type: 'spec', spec: this.spec });
  }

  private makeData(): void {
    const s = this.spec;
    const name = s.problem === 'classification' ? s.dataset : s.problem === 'curve' ? s.curveDataset : s.regDataset;
    if (name === 'user') {
      this.data = splitUserPoints(this.userPoints, s.percTrainData, s.seed);
      this.stream = Math.random;
      return;
    }
    const g = generateFor(s);
    this.data = { train: g.train, test: g.test };
    this.stream = g.random;
  }

  /** New data (when asked) and a new network. */
  private rebuild(withData: boolean): void {
    if (withData) this.makeData();
    this.newExperiment();
  }

  private newExperiment(): void {
    this.experiment = new Experiment(this.spec, this.data, this.spec.mode === 'compat' ? this.stream : null);
    this.measuredRate = 0;
    this.run++;
    this.trainMs = 0;
  }

  private schedule(): void {
    if (this.timer !== null || !this.playing) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.slice();
    }, 0);
  }

  /** Train for up to SLICE_MS (or until the speed limit says wait), then yield to requests. */
  private slice(): void {
    if (!this.playing) return;
    const start = this.now();
    while (this.playing && this.now() - start < SLICE_MS) {
      if (this.targetRate > 0) {
        const allowed = ((this.now() - this.budgetStart) / 1000) * this.targetRate;
        if (this.budgetEpochs >= allowed) break;
      }
      if (!this.experiment.trainEpoch()) {
        this.playing = false;
        break;
      }
      this.budgetEpochs++;
    }
    const t = this.now();
    this.trainMs += t - start;
    if (t - this.rateWindow.t > 500) {
      this.measuredRate = ((this.experiment.epoch - this.rateWindow.epoch) * 1000) / (t - this.rateWindow.t);
      this.rateWindow = { t, epoch: this.experiment.epoch };
    }
    this.schedule();
  }
}
