#!/usr/bin/env node
// `npm run bench:tta`: issue 15's time-to-accuracy figure. For the mlp and
// lenet5 presets (MNIST, their own settings, compiled steps), it trains
// as one process, as 2 sync workers (`neurite launch --workers 2`) and as 2
// async Downpour workers with one parameter server (Adagrad, as Dean et al.
// used, at 0.05 for mlp and 0.01 for lenet5; SGD with momentum diverges asynchronously), each through the real
// CLI in a fresh folder, and reports the training seconds (the sum of the
// epoch times the CLI prints, so process start and data loading are left
// out; the wall time is beside it) until the validation accuracy first
// reaches the target: mlp's single-process accuracy after one epoch, and 99%
// for lenet5. The final test accuracy of each run sits beside it.
//
// Options: --only mlp|lenet5, --epochs-mlp N (default 3), --epochs-lenet5 N (default 6).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'bin', 'neurite.mjs');
const opts = { only: null, epochsMlp: 3, epochsLenet5: 6 };
for (let i = 2; i < process.argv.length; i++) {
  const [flag, inline] = process.argv[i].split(/=(.*)/s);
  const value = () => inline ?? process.argv[++i];
  if (flag === '--only') opts.only = value();
  else if (flag === '--epochs-mlp') opts.epochsMlp = Number(value());
  else if (flag === '--epochs-lenet5') opts.epochsLenet5 = Number(value());
  else throw new Error(`bench:tta: unknown option '${process.argv[i]}'`);
}

/** Seconds from the CLI's elapsed format ('12.3s', '1:05', '1:02:03'). */
function seconds(text) {
  if (text.endsWith('s')) return Number(text.slice(0, -1));
  return text.split(':').reduce((total, part) => total * 60 + Number(part), 0);
}

function run(args, cwd) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code) => resolve({ code, out, err, wall: (performance.now() - t0) / 1000 }));
  });
}

/** Each epoch's validation accuracy and seconds, from the CLI's epoch lines. */
function epochsOf(out) {
  const rows = [];
  for (const m of out.matchAll(/^epoch\s+(\d+)\/\d+ .*val_acc ([\d.]+)% .* (\S+)$/gm)) rows.push({ epoch: Number(m[1]), valAccuracy: Number(m[2]) / 100, seconds: seconds(m[3]) });
  return rows;
}

const CONFIGS = [
  { name: '1 process', args: (preset, epochs, out) => ['train', preset, '--epochs', String(epochs), '--compile', '--out', out] },
  { name: '2 workers, sync', args: (preset, epochs, out) => ['launch', '--workers', '2', 'train', preset, '--epochs', String(epochs), '--compile', '--out', out] },
  {
    name: '2 workers, async (Adagrad)',
    args: (preset, epochs, out) => [
      'launch',
      '--workers',
      '2',
      '--mode',
      'async',
      'train',
      preset,
      '--epochs',
      String(epochs),
      '--compile',
      '--optimizer',
      'adagrad',
      '--lr',
      // Adagrad's rate per preset: 0.05 diverged on lenet5 (chance accuracy), 0.01 trains.
      preset === 'lenet5' ? '0.01' : '0.05',
      '--out',
      out,
    ],
  },
];

const work = mkdtempSync(join(tmpdir(), 'neurite-tta-'));
const rows = [];
try {
  for (const preset of ['mlp', 'lenet5']) {
    if (opts.only && opts.only !== preset) continue;
    const epochs = preset === 'mlp' ? opts.epochsMlp : opts.epochsLenet5;
    let target = preset === 'lenet5' ? 0.99 : null;
    for (const config of CONFIGS) {
      const out = `${preset}-${rows.length}`;
      const r = await run(config.args(preset, epochs, out), work);
      if (r.code !== 0) {
        rows.push({ preset, config: config.name, error: r.err.trim().split('\n').pop() });
        continue;
      }
      const history = epochsOf(r.out);
      // mlp's target: the single process's validation accuracy after one epoch.
      if (target === null) target = history[0]?.valAccuracy ?? 1;
      let elapsed = 0;
      let reached = null;
      for (const e of history) {
        elapsed += e.seconds;
        if (reached === null && e.valAccuracy >= target) reached = { epoch: e.epoch, seconds: elapsed };
      }
      const results = JSON.parse(readFileSync(join(work, out, 'results.json'), 'utf8'));
      rows.push({
        preset,
        config: config.name,
        target,
        reached,
        trainingSeconds: elapsed,
        wallSeconds: r.wall,
        epochs: history.length,
        finalValAccuracy: history.at(-1)?.valAccuracy,
        testAccuracy: results.testAccuracy ?? results.test?.accuracy,
      });
      const last = rows.at(-1);
      console.error(
        `${preset} | ${config.name}: ${reached ? `${(100 * target).toFixed(2)}% at epoch ${reached.epoch}, ${reached.seconds.toFixed(1)} s of training` : `never reached ${(100 * target).toFixed(2)}% in ${history.length} epochs`}; test accuracy ${last.testAccuracy === undefined ? '?' : `${(100 * last.testAccuracy).toFixed(2)}%`}, wall ${r.wall.toFixed(1)} s`,
      );
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, load: loadavg() };
console.log(`\ntime to accuracy (validation accuracy; training seconds are the sum of the epoch times)\n`);
console.log('preset | configuration | target | reached at | training s to target | test accuracy | wall s (whole run)');
for (const r of rows) {
  if (r.error) {
    console.log(`${r.preset} | ${r.config} | failed: ${r.error}`);
    continue;
  }
  console.log(
    [
      r.preset,
      r.config,
      `${(100 * r.target).toFixed(2)}%`,
      r.reached ? `epoch ${r.reached.epoch}` : `not in ${r.epochs} epochs`,
      r.reached ? r.reached.seconds.toFixed(1) : '-',
      r.testAccuracy === undefined ? '?' : `${(100 * r.testAccuracy).toFixed(2)}%`,
      r.wallSeconds.toFixed(1),
    ].join(' | '),
  );
}
console.log(`\nCPU: ${machine.cpu}, ${machine.cores} cores; load average ${machine.load.map((x) => x.toFixed(2)).join(' ')}`);
const file = join(root, 'bench', 'results', `tta-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ machine, rows }, null, 2)}\n`);
console.log(`written ${file}`);
