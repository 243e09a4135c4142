// MNIST mode's training side: a LeNet-5 (seed 003's network: two 5×5
// convolutions with 2×2 pooling, then 120-84-10) trained on a bundled subset,
// a few batches at a time, and asked about drawn digits. No DOM: it runs in
// the MNIST worker, and in Node for the tests. Given a GPU, each batch's step
// is compiled and replayed there (the weights stay on the GPU between
// batches and come back before the network is evaluated or asked).
import {
  compile,
  type DeviceCompiledFunction,
  Generator,
  type MnistData,
  nn,
  noGrad,
  optim,
  seed as seedAll,
  type Tensor,
  type TrainingDevice,
  tensor,
} from './neurite.js';

export const MNIST_BATCH = 32;
/** Test accuracy is measured every this many batches (and at each epoch's end). */
export const EVAL_EVERY = 40;

export interface DigitProgress {
  epoch: number;
  /** Batches done in this epoch, and per epoch. */
  step: number;
  steps: number;
  /** Mean training loss over the batches since the last report. */
  trainLoss: number;
  /** Accuracy on the bundled test images at the last evaluation (0 before the first). */
  testAccuracy: number;
  /** One row per evaluation: images seen so far, mean training loss since the previous one, test accuracy. */
  history: { seen: number; trainLoss: number; testAccuracy: number }[];
}

export interface DigitPrediction {
  /** Softmax probabilities of the ten classes. */
  probabilities: number[];
  /** The first convolution's six 28×28 feature maps (after ReLU), row-major. */
  maps: Float32Array[];
  /** The first convolution's six 5×5 kernels. */
  kernels: Float32Array[];
}

export class DigitTrainer {
  readonly model: nn.Sequential;
  readonly conv1: nn.Conv2d;
  private readonly optimizer: optim.Adam;
  private readonly order: Generator;
  private permutation: Int32Array;
  private position = 0;
  private lossSum = 0;
  private lossCount = 0;
  readonly progress: DigitProgress;
  /** The training step replayed on a GPU, when the trainer was given one. */
  private readonly onDevice: DeviceCompiledFunction<[Tensor, Tensor], Tensor> | null;

  constructor(
    readonly train: MnistData,
    readonly test: MnistData,
    seed = 1,
    device: TrainingDevice | null = null,
  ) {
    // The global generator draws the initial weights: one seed, one network.
    seedAll(seed);
    this.conv1 = new nn.Conv2d(1, 6, 5, { padding: 2 });
    this.model = new nn.Sequential(
      this.conv1,
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
    this.optimizer = new optim.Adam(this.model.parameters(), { lr: 1e-3 });
    this.order = new Generator(seed + 1);
    this.permutation = this.order.permutation(this.size);
    this.progress = { epoch: 0, step: 0, steps: Math.ceil(this.size / MNIST_BATCH), trainLoss: 0, testAccuracy: 0, history: [] };
    this.onDevice = device === null ? null : compile((x: Tensor, y: Tensor) => this.step(x, y), { executor: device.executor, modules: [this.model] });
  }

  /** Whether the steps run on a GPU (then train with trainBatchAsync). */
  get onGpu(): boolean {
    return this.onDevice !== null;
  }

  get size(): number {
    return this.train.labels.shape[0];
  }

  /** One minibatch of Adam on cross-entropy, on the CPU. */
  trainBatch(): void {
    if (this.onDevice) throw new Error('DigitTrainer: this trainer steps on the GPU; call trainBatchAsync()');
    const { x, y } = this.nextBatch();
    if (this.finishBatch(Number(this.step(x, y).item()))) this.evaluate();
  }

  /** One minibatch, on the GPU when the trainer has one; the weights come back before an evaluation. */
  async trainBatchAsync(): Promise<void> {
    if (!this.onDevice) return this.trainBatch();
    const { x, y } = this.nextBatch();
    const loss = await this.onDevice(x, y);
    if (this.finishBatch(Number(loss.item()))) {
      await this.onDevice.pull();
      this.evaluate();
    }
  }

  /** Makes the CPU's copy of the weights current (after steps on the GPU), before predict() or reading them. */
  async sync(): Promise<void> {
    await this.onDevice?.pull();
  }

  private nextBatch(): { x: Tensor; y: Tensor } {
    const end = Math.min(this.size, this.position + MNIST_BATCH);
    const index = tensor(this.permutation.subarray(this.position, end), { shape: [end - this.position] });
    const x = this.train.images.indexSelect(0, index);
    const y = this.train.labels.indexSelect(0, index);
    this.position = end;
    return { x, y };
  }

  private step(x: Tensor, y: Tensor): Tensor {
    this.optimizer.zeroGrad();
    const loss = nn.functional.crossEntropy(this.model.forward(x), y);
    loss.backward();
    this.optimizer.step();
    return loss;
  }

  /** Counts the batch; true when the test accuracy is due (every EVAL_EVERY batches and at each epoch's end). */
  private finishBatch(loss: number): boolean {
    const n = this.size;
    this.lossSum += loss;
    this.lossCount++;
    this.progress.step++;
    const epochDone = this.position >= n;
    if (epochDone) {
      this.progress.epoch++;
      this.progress.step = 0;
      this.position = 0;
      this.permutation = this.order.permutation(n);
    }
    return epochDone || this.progress.step % EVAL_EVERY === 0;
  }

  /** Accuracy on the test images, recorded in the history with the mean training loss since the last one. */
  evaluate(): number {
    const accuracy = noGrad(() => {
      this.model.eval();
      let right = 0;
      const n = this.test.labels.shape[0];
      const labels = this.test.labels.data;
      for (let a = 0; a < n; a += 250) {
        const b = Math.min(n, a + 250);
        const out = this.model.forward(this.test.images.narrow(0, a, b - a)).data;
        for (let i = 0; i < b - a; i++) {
          let best = 0;
          for (let c = 1; c < 10; c++) if (out[i * 10 + c] > out[i * 10 + best]) best = c;
          if (best === labels[a + i]) right++;
        }
      }
      this.model.train();
      return right / n;
    });
    const trainLoss = this.lossCount > 0 ? this.lossSum / this.lossCount : Number.NaN;
    this.lossSum = 0;
    this.lossCount = 0;
    this.progress.trainLoss = trainLoss;
    this.progress.testAccuracy = accuracy;
    this.progress.history.push({ seen: (this.progress.epoch * this.progress.steps + this.progress.step) * MNIST_BATCH, trainLoss, testAccuracy: accuracy });
    return accuracy;
  }

  /** What the network makes of a 28×28 image with values in [0, 1] (row-major). */
  predict(pixels: Float32Array): DigitPrediction {
    if (pixels.length !== 784) throw new RangeError(`predict: expected 784 pixels (28×28), got ${pixels.length}`);
    return noGrad(() => {
      this.model.eval();
      const x = tensor(pixels, { shape: [1, 1, 28, 28] });
      const first = (this.conv1.forward(x) as Tensor).relu();
      const logits = this.model.forward(x).data;
      this.model.train();
      const max = Math.max(...Array.from(logits));
      const e = Array.from(logits, (v) => Math.exp(v - max));
      const z = e.reduce((s, v) => s + v, 0);
      const maps = Array.from({ length: 6 }, (_, k) => Float32Array.from(first.data.subarray(k * 784, (k + 1) * 784)));
      const w = this.conv1.weight.data;
      const kernels = Array.from({ length: 6 }, (_, k) => Float32Array.from(w.subarray(k * 25, (k + 1) * 25)));
      return { probabilities: e.map((v) => v / z), maps, kernels };
    });
  }

  /** One test image's pixels and label, for the "show a test digit" button. */
  testImage(i: number): { pixels: Float32Array; label: number } {
    const n = this.test.labels.shape[0];
    const k = ((i % n) + n) % n;
    return { pixels: Float32Array.from(this.test.images.data.subarray(k * 784, (k + 1) * 784)), label: Number(this.test.labels.data[k]) };
  }
}
