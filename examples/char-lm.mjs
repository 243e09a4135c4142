// A character-level language model: an LSTM reads Chapter 1 of Pride and
// Prejudice (examples/data, public domain) one character at a time and learns
// to predict the next one. It reports the perplexity on the held-out last 10%
// of the text against two baselines (uniform over the alphabet, and the
// character frequencies) and writes a sample. The text is only 4 KB, so the
// model soon starts to memorise it: the weights with the best validation
// perplexity are kept (early stopping).
//
//   npm run build && node examples/char-lm.mjs
//
// Perplexity = exp(mean cross-entropy per character): the number of
// characters the model is, on average, as unsure as a uniform choice among.
import { readFileSync } from 'node:fs';
import * as nt from 'neurite';

const { nn, optim } = nt;

const SEED = 7;
const HIDDEN = 64;
const EMBED = 24;
const SEQ = 48;
const BATCH = 32;
const STEPS = 200;
const EVAL_EVERY = 25;

nt.seed(SEED);
const text = readFileSync(new URL('./data/pride-and-prejudice-ch1.txt', import.meta.url), 'utf8');
const alphabet = [...new Set(text)].sort();
const indexOf = new Map(alphabet.map((c, i) => [c, i]));
const ids = Int32Array.from(text, (c) => indexOf.get(c));
const cut = Math.floor(ids.length * 0.9);
const train = ids.subarray(0, cut);
const valid = ids.subarray(cut);
const V = alphabet.length;

class CharLM extends nn.Module {
  static className = 'CharLM';
  constructor() {
    super();
    this.embed = new nn.Embedding(V, EMBED);
    this.lstm = new nn.LSTM(EMBED, HIDDEN, { batchFirst: true });
    this.head = new nn.Linear(HIDDEN, V);
  }
  /** ids [batch, T] (int32) and an optional [h, c] → logits [batch, T, V] and the next state. */
  forward(x, state = null) {
    const [out, next] = this.lstm.forward(this.embed.forward(x), state);
    return [this.head.forward(out), next];
  }
}

/** Mean cross-entropy (nats per character) of the model on a whole text, read in chunks with the state carried over. */
function evaluate(model, data) {
  return nt.noGrad(() => {
    let state = null;
    let total = 0;
    for (let start = 0; start + 1 < data.length; start += SEQ) {
      const end = Math.min(start + SEQ, data.length - 1);
      const x = nt.tensor(data.subarray(start, end), { shape: [1, end - start], dtype: 'int32' });
      const y = nt.tensor(data.subarray(start + 1, end + 1), { dtype: 'int32' });
      const [logits, next] = model.forward(x, state);
      total += nn.functional.crossEntropy(logits.reshape([end - start, V]), y, { reduction: 'sum' }).item();
      state = nn.detachState(next);
    }
    return total / (data.length - 1);
  });
}

const model = new CharLM();
const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
const gen = new nt.Generator(SEED);
let best = { perplexity: Number.POSITIVE_INFINITY, step: 0, weights: model.stateDict() };
const started = performance.now();
for (let step = 1; step <= STEPS; step++) {
  // A batch of random windows of the training text: inputs and the same window shifted by one.
  const x = new Int32Array(BATCH * SEQ);
  const y = new Int32Array(BATCH * SEQ);
  for (let b = 0; b < BATCH; b++) {
    const start = gen.nextInt(train.length - SEQ - 1);
    x.set(train.subarray(start, start + SEQ), b * SEQ);
    y.set(train.subarray(start + 1, start + SEQ + 1), b * SEQ);
  }
  const [logits] = model.forward(nt.tensor(x, { shape: [BATCH, SEQ], dtype: 'int32' }));
  const loss = nn.functional.crossEntropy(logits.reshape([BATCH * SEQ, V]), nt.tensor(y, { dtype: 'int32' }));
  opt.zeroGrad();
  loss.backward();
  optim.clipGradNorm(model.parameters(), 1);
  opt.step();
  if (step % EVAL_EVERY === 0) {
    const perplexity = Math.exp(evaluate(model, valid));
    console.log(`step ${step}: train loss ${loss.item().toFixed(3)}, validation perplexity ${perplexity.toFixed(2)}`);
    if (perplexity < best.perplexity) best = { perplexity, step, weights: new Map([...model.stateDict()].map(([k, v]) => [k, nt.tensor(v.dataSync(), { shape: [...v.shape], dtype: v.dtype })])) };
  }
}
model.loadStateDict(best.weights);
const seconds = (performance.now() - started) / 1000;

// Baselines: a uniform guess over the alphabet, and the training text's character frequencies.
const counts = new Float64Array(V).fill(1);
for (const c of train) counts[c]++;
const totalCount = counts.reduce((s, c) => s + c, 0);
let unigramNats = 0;
for (const c of valid.subarray(1)) unigramNats -= Math.log(counts[c] / totalCount);
unigramNats /= valid.length - 1;

/** Sample `length` characters after `prompt`, drawing from softmax(logits / temperature). */
function sample(prompt, length, temperature) {
  return nt.noGrad(() => {
    let out = prompt;
    let [logits, state] = model.forward(nt.tensor([Array.from(prompt, (c) => indexOf.get(c))], { dtype: 'int32' }));
    for (let i = 0; i < length; i++) {
      const last = logits.slice(0, -1).div(temperature);
      const p = nt.softmax(last).toFlatArray();
      let u = gen.nextDouble();
      let k = 0;
      while (k < V - 1 && u >= p[k]) u -= p[k++];
      out += alphabet[k];
      [logits, state] = model.forward(nt.tensor([[k]], { dtype: 'int32' }), state);
    }
    return out;
  });
}

console.log(`\ntrained ${STEPS} steps of ${BATCH}x${SEQ} characters in ${seconds.toFixed(1)} s (backend ${nt.getBackend().name})`);
console.log(`alphabet: ${V} characters; text: ${train.length} training, ${valid.length} validation characters`);
console.log(`validation perplexity: LSTM ${Math.exp(evaluate(model, valid)).toFixed(2)} (weights of step ${best.step}), character frequencies ${Math.exp(unigramNats).toFixed(2)}, uniform ${V}`);
console.log(`training perplexity: ${Math.exp(evaluate(model, train)).toFixed(2)}`);
console.log('\nsample (temperature 0.7):\n');
console.log(sample('"My dear', 400, 0.7));
