// Records what playground.tensorflow.org shows for a few of its links, from an
// independent re-implementation of its maths (read from its source: nn.ts's
// per-node forward and backward passes, updateWeights with its L1 rule,
// playground.ts's oneStep/getLoss/reset, dataset.ts's generators and
// seedrandom's stream). The playground's compat mode is tested against these
// numbers (test/playground/compat.test.ts), so the two implementations check
// each other: this one is scalar and per point, the app's is batched tensors.
//
// Run by hand: node tools/playground-reference.mjs > test/fixtures/playground-compat.json
import seedrandom from 'seedrandom';

const URLS = [
  // The app's default page (circle, tanh, [4, 2], lr 0.03, batch 10) with a fixed seed.
  'activation=tanh&batchSize=10&dataset=circle&regDataset=reg-plane&learningRate=0.03&regularizationRate=0&noise=0&networkShape=4,2&seed=0.72417&showTestData=false&discretize=false&percTrainData=50&x=true&y=true&xTimesY=false&xSquared=false&ySquared=false&cosX=false&sinX=false&cosY=false&sinY=false&collectStats=false&problem=classification&initZero=false&hideText=false',
  // Spiral with sines, ReLU, L1 (dead links), noise, batch 7 (leftovers carry over: 250 % 7 = 5), 60% training data.
  'activation=relu&regularization=L1&batchSize=7&dataset=spiral&regDataset=reg-plane&learningRate=0.01&regularizationRate=0.003&noise=15&networkShape=6,5,3&seed=0.31337&showTestData=false&discretize=false&percTrainData=60&x=true&y=true&xTimesY=false&xSquared=false&ySquared=false&cosX=false&sinX=true&cosY=false&sinY=true&collectStats=false&problem=classification&initZero=false&hideText=false',
  // Regression on the Gaussian bumps, sigmoid, L2, every feature, batch 30.
  'activation=sigmoid&regularization=L2&batchSize=30&dataset=circle&regDataset=reg-gauss&learningRate=0.1&regularizationRate=0.001&noise=10&networkShape=5&seed=0.05050&showTestData=false&discretize=false&percTrainData=70&x=true&y=true&xTimesY=true&xSquared=true&ySquared=true&cosX=false&sinX=true&cosY=false&sinY=true&collectStats=false&problem=regression&initZero=false&hideText=false',
  // xor with x1·x2 only and no hidden layer, gauss noise semantics aside: the simplest net, linear activation.
  'activation=linear&batchSize=1&dataset=xor&regDataset=reg-plane&learningRate=0.003&regularizationRate=0&noise=25&networkShape=&seed=0.99999&showTestData=false&discretize=false&percTrainData=30&x=false&y=false&xTimesY=true&xSquared=false&ySquared=false&cosX=false&sinX=false&cosY=false&sinY=false&collectStats=false&problem=classification&initZero=false&hideText=false',
];
const EPOCHS = [0, 1, 2, 10, 50, 100];

const ACT = {
  tanh: { f: Math.tanh, d: (x) => 1 - Math.tanh(x) ** 2 },
  relu: { f: (x) => Math.max(0, x), d: (x) => (x <= 0 ? 0 : 1) },
  sigmoid: { f: (x) => 1 / (1 + Math.exp(-x)), d: (x) => { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s); } },
  linear: { f: (x) => x, d: () => 1 },
};
const INPUTS = { x: (x) => x, y: (_, y) => y, xSquared: (x) => x * x, ySquared: (_, y) => y * y, xTimesY: (x, y) => x * y, sinX: (x) => Math.sin(x), sinY: (_, y) => Math.sin(y) };

function run(hash) {
  const q = Object.fromEntries(hash.split('&').map((kv) => kv.split('=')));
  const rnd = seedrandom(q.seed);
  const U = (a, b) => rnd() * (b - a) + a;
  const normal = (mean, variance) => {
    let v1, v2, s;
    do { v1 = 2 * rnd() - 1; v2 = 2 * rnd() - 1; s = v1 * v1 + v2 * v2; } while (s > 1);
    return mean + Math.sqrt(variance) * Math.sqrt((-2 * Math.log(s)) / s) * v1;
  };
  const noise = +q.noise / 100;
  const gens = {
    circle(n) {
      const pts = [];
      const lab = (x, y) => (Math.hypot(x, y) < 2.5 ? 1 : -1);
      for (let i = 0; i < n / 2; i++) { const r = U(0, 2.5), a = U(0, 2 * Math.PI); const x = r * Math.sin(a), y = r * Math.cos(a); const nx = U(-5, 5) * noise, ny = U(-5, 5) * noise; pts.push({ x, y, label: lab(x + nx, y + ny) }); }
      for (let i = 0; i < n / 2; i++) { const r = U(3.5, 5), a = U(0, 2 * Math.PI); const x = r * Math.sin(a), y = r * Math.cos(a); const nx = U(-5, 5) * noise, ny = U(-5, 5) * noise; pts.push({ x, y, label: lab(x + nx, y + ny) }); }
      return pts;
    },
    xor(n) {
      const pts = [];
      for (let i = 0; i < n; i++) { let x = U(-5, 5); x += x > 0 ? 0.3 : -0.3; let y = U(-5, 5); y += y > 0 ? 0.3 : -0.3; const nx = U(-5, 5) * noise, ny = U(-5, 5) * noise; pts.push({ x, y, label: (x + nx) * (y + ny) >= 0 ? 1 : -1 }); }
      return pts;
    },
    spiral(n) {
      const pts = [];
      const m = n / 2;
      for (const [dt, label] of [[0, 1], [Math.PI, -1]]) for (let i = 0; i < m; i++) { const r = (i / m) * 5, t = ((1.75 * i) / m) * 2 * Math.PI + dt; pts.push({ x: r * Math.sin(t) + U(-1, 1) * noise, y: r * Math.cos(t) + U(-1, 1) * noise, label }); }
      return pts;
    },
    'reg-gauss'(n) {
      const G = [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]];
      const lab = (x, y) => { let l = 0; for (const [cx, cy, s] of G) { const v = s * Math.min(1, Math.max(0, 1 - Math.hypot(x - cx, y - cy) / 2)); if (Math.abs(v) > Math.abs(l)) l = v; } return l; };
      const pts = [];
      for (let i = 0; i < n; i++) { const x = U(-6, 6), y = U(-6, 6); const nx = U(-6, 6) * noise, ny = U(-6, 6) * noise; pts.push({ x, y, label: lab(x + nx, y + ny) }); }
      return pts;
    },
  };
  const regression = q.problem === 'regression';
  const data = gens[regression ? q.regDataset : q.dataset](regression ? 1200 : 500);
  for (let c = data.length; c > 0; ) { const i = Math.floor(rnd() * c); c--; [data[c], data[i]] = [data[i], data[c]]; }
  const cut = Math.floor((data.length * +q.percTrainData) / 100);
  const train = data.slice(0, cut), test = data.slice(cut);
  const feats = Object.keys(INPUTS).filter((k) => q[k] === 'true');
  const input = (p) => feats.map((f) => INPUTS[f](p.x, p.y));
  const hiddenShape = q.networkShape === '' ? [] : q.networkShape.split(',').map(Number);
  const shape = [feats.length, ...hiddenShape, 1];
  const act = ACT[q.activation];
  const out = regression ? ACT.linear : ACT.tanh;
  const reg = q.regularization === 'L1' ? 'L1' : q.regularization === 'L2' ? 'L2' : null;
  const lr = +q.learningRate, rate = +q.regularizationRate, batch = +q.batchSize;
  // Nodes: per layer, {bias, inputs: [{w, acc, n, dead}], total, output, outDer, inDer, acc, n}
  const net = shape.map((size, l) => Array.from({ length: size }, () => ({ bias: 0.1, links: [], acc: 0, n: 0 })));
  for (let l = 1; l < shape.length; l++) for (const node of net[l]) for (let j = 0; j < shape[l - 1]; j++) node.links.push({ w: rnd() - 0.5, acc: 0, n: 0, dead: false });
  const forward = (p) => {
    const x = input(p);
    net[0].forEach((n, i) => { n.output = x[i]; });
    for (let l = 1; l < net.length; l++) for (const n of net[l]) { n.total = n.bias; n.links.forEach((k, j) => { n.total += k.w * net[l - 1][j].output; }); n.output = (l === net.length - 1 ? out : act).f(n.total); }
    return net[net.length - 1][0].output;
  };
  const backward = (t) => {
    const o = net[net.length - 1][0];
    o.outDer = o.output - t;
    for (let l = net.length - 1; l >= 1; l--) {
      const a = l === net.length - 1 ? out : act;
      for (const n of net[l]) { n.inDer = n.outDer * a.d(n.total); n.acc += n.inDer; n.n++; }
      for (const n of net[l]) n.links.forEach((k, j) => { if (k.dead) return; k.acc += n.inDer * net[l - 1][j].output; k.n++; });
      if (l === 1) continue;
      net[l - 1].forEach((p, j) => { p.outDer = 0; for (const n of net[l]) p.outDer += n.links[j].w * n.inDer; });
    }
  };
  const update = () => {
    for (let l = 1; l < net.length; l++) for (const n of net[l]) {
      if (n.n > 0) { n.bias -= (lr * n.acc) / n.n; n.acc = 0; n.n = 0; }
      for (const k of n.links) {
        if (k.dead) continue;
        const rd = reg === 'L1' ? (k.w < 0 ? -1 : 1) : reg === 'L2' ? k.w : 0;
        if (k.n > 0) {
          k.w -= (lr / k.n) * k.acc;
          const nw = k.w - lr * rate * rd;
          if (reg === 'L1' && k.w * nw < 0) { k.w = 0; k.dead = true; } else k.w = nw;
          k.acc = 0; k.n = 0;
        }
      }
    }
  };
  const loss = (pts) => pts.reduce((s, p) => s + 0.5 * (forward(p) - p.label) ** 2, 0) / pts.length;
  const record = {};
  for (let e = 0; e <= EPOCHS[EPOCHS.length - 1]; e++) {
    if (EPOCHS.includes(e)) record[e] = { train: loss(train), test: loss(test) };
    train.forEach((p, i) => { forward(p); backward(p.label); if ((i + 1) % batch === 0) update(); });
  }
  return { hash, firstPoints: train.slice(0, 3), losses: record, deadLinks: net.flat().flatMap((n) => n.links).filter((k) => k.dead).length };
}

process.stdout.write(`${JSON.stringify({ note: 'playground.tensorflow.org semantics re-derived from its source by tools/playground-reference.mjs (scalar, per point); losses are 0.5·(o−t)² means as that app shows them', runs: URLS.map(run) }, null, 1)}\n`);
