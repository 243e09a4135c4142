#!/usr/bin/env node
// `npm run bench`: every workload of issue 4 on neurite and on each peer that is
// installed, one measurement at a time, each in its own child process (the
// machine has 2 cores: two measurements at once would disturb both). Prints a
// table of absolute figures, one of ratios neurite/peer and the targets of the
// issue, and writes everything as JSON under bench/results/.
//
// Every figure is the median of --repeat measurements, each in a fresh child
// process, taken in rounds that interleave the libraries (round 1: every
// library on every workload, then round 2, ...) so that a change of load hits
// them alike; the spread (half the range, as a percentage of the median) and
// the CPU time per wall second are printed beside it. Every library runs with
// --threads threads (default 1: the one-thread comparison the targets are
// stated for).
//
// Options (after `npm run bench --`):
//   --seconds S           timed seconds per measurement (default 2)
//   --repeat N            measurements per figure, the median is reported (default 3)
//   --threads N           threads for every library: neurite's pool, PyTorch's intra-op and BLAS threads, onnxruntime's (default 1)
//   --busy                keep one core busy with another process throughout (the thread pool's test: see also bench/threads.mjs)
//   --warmup S            untimed seconds before each, on top of a few warm-up steps (default 1)
//   --only a,b,...        workloads to run (ids from bench/common.mjs, or 'memory')
//   --peers a,b,...       pytorch, tfjs-cpu, tfjs-wasm, brain.js, onnxruntime (or 'tfjs', 'none')
//   --backends a,b,...    neurite backends; default: native when it is built, wasm, and ref on the cheap workloads
//   --memory-steps N      training steps of the memory check (default 20000 on native, 2000 on ref)
//   --timeout S           limit per child process (default 600)
//   --wait-idle S         before each measurement, wait up to S seconds for other processes to go quiet
//   --no-save             do not write bench/results/<date>-<time>.json
//   --no-browser          skip the browser run (bench/browser.mjs: neurite wasm and TensorFlow.js wasm in Chromium),
//                         which follows the Node table when /usr/bin/chromium is installed
//   --no-compiled         skip the compiled column (nt.compile on the first backend; issue 14's targets)
//   --no-resnet           skip ResNet-18 at 224×224 against PyTorch and onnxruntime-node (bench/resnet.mjs,
//                         npm run bench:resnet), which runs last when no --only narrows the run
//   --isa avx2            an AVX-512 machine measured as one without it (a Zen 3): neurite's addon on its AVX2
//                         kernels (NEURITE_NATIVE_ISA=avx2), PyTorch on OpenBLAS's Haswell kernels with oneDNN
//                         and ATen capped at AVX2 (bench/pytorch.mjs); the record is <date>-<time>-avx2.json,
//                         which `npm run bench:readme` does not take for the README's figures
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON, probePytorch, pytorchEnv, systemBlas } from './pytorch.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = join(benchDir, '..');
const peersDir = join(benchDir, 'peers');

// ---- options -----------------------------------------------------------------

function parseOptions(argv) {
  const opts = {
    seconds: 2,
    warmupSeconds: 1,
    repeat: 3,
    threads: 1,
    busy: false,
    only: null,
    peers: null,
    backends: null,
    memorySteps: null,
    timeout: 600,
    waitIdle: 0,
    save: true,
    browser: true,
    resnet: true,
    compiled: true,
    isa: null,
  };
  const list = (v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => inline ?? argv[++i];
    if (flag === '--seconds') opts.seconds = Number(value());
    else if (flag === '--warmup') opts.warmupSeconds = Number(value());
    else if (flag === '--repeat') opts.repeat = Number(value());
    else if (flag === '--threads') opts.threads = Number(value());
    else if (flag === '--busy') opts.busy = true;
    else if (flag === '--only') opts.only = list(value());
    else if (flag === '--peers') opts.peers = list(value());
    else if (flag === '--backends') opts.backends = list(value());
    else if (flag === '--memory-steps') opts.memorySteps = Number(value());
    else if (flag === '--timeout') opts.timeout = Number(value());
    else if (flag === '--no-compiled') opts.compiled = false;
    else if (flag === '--wait-idle') opts.waitIdle = Number(value());
    else if (flag === '--no-save') opts.save = false;
    else if (flag === '--no-browser') opts.browser = false;
    else if (flag === '--no-resnet') opts.resnet = false;
    else if (flag === '--isa') opts.isa = value();
    else if (flag === '--help' || flag === '-h') {
      const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8')
        .split('\n')
        .slice(1);
      const header = lines.slice(
        0,
        lines.findIndex((l) => !l.startsWith('//')),
      );
      console.log(header.map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else throw new Error(`bench: unknown option '${argv[i]}' (see --help)`);
  }
  if (!(opts.seconds > 0)) throw new Error('bench: --seconds must be a positive number');
  if (!(opts.warmupSeconds >= 0)) throw new Error('bench: --warmup must be a number of seconds');
  if (!(opts.timeout > 0)) throw new Error('bench: --timeout must be a positive number');
  if (!Number.isInteger(opts.repeat) || opts.repeat < 1) throw new Error('bench: --repeat must be a whole number >= 1');
  if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new Error('bench: --threads must be a whole number >= 1');
  if (!(opts.waitIdle >= 0)) throw new Error('bench: --wait-idle must be a number of seconds');
  if (opts.isa !== null && opts.isa !== 'avx2') throw new Error(`bench: --isa takes 'avx2' (the AVX-512 kernels are the default), got '${opts.isa}'`);
  return opts;
}

const opts = parseOptions(process.argv.slice(2));
if (opts.isa === 'avx2') {
  // Inherited by every child: neurite's addon reads NEURITE_NATIVE_ISA, bench/pytorch.mjs NEURITE_BENCH_ISA.
  process.env.NEURITE_NATIVE_ISA = 'avx2';
  process.env.NEURITE_BENCH_ISA = 'avx2';
}

if (!existsSync(join(root, 'dist', 'src', 'index.js'))) {
  console.error('bench: dist/ is missing; build neurite first with `npm run build`.');
  process.exit(1);
}
const { WORKLOADS, gemmShapes, mnistDirectory } = await import('./common.mjs');

const workloadIds = WORKLOADS.map((w) => w.id);
const selected = opts.only ?? [...workloadIds, 'memory'];
for (const id of selected) {
  if (id !== 'memory' && !workloadIds.includes(id)) throw new Error(`bench: unknown workload '${id}'; known: ${workloadIds.join(', ')}, memory`);
}
const rows = WORKLOADS.filter((w) => selected.includes(w.id));

// ---- child processes ---------------------------------------------------------

/** CPU time of the whole machine as [busy, total] jiffies from /proc/stat. */
function cpuTimes() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return [total - idle, total];
  } catch {
    return null;
  }
}

/** Fraction of the machine's CPU capacity in use by other processes over `ms` before a measurement. */
async function backgroundLoad(ms = 300) {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  if (!a || !b || b[1] === a[1]) return null;
  return (b[0] - a[0]) / (b[1] - a[1]);
}

/**
 * CPU jiffies used by this process's finished children (cutime + cstime of
 * /proc/self/stat): with the machine's busy jiffies, what other processes
 * used while a child measured.
 */
function childrenCpu() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[13]) + Number(fields[14]);
  } catch {
    return null;
  }
}

/** Run `fn` (which runs one child to its end) and measure the share of the CPUs other processes used meanwhile. */
async function withBackground(fn) {
  const machine0 = cpuTimes();
  const children0 = childrenCpu();
  const result = await fn();
  const machine1 = cpuTimes();
  const children1 = childrenCpu();
  if (!machine0 || !machine1 || children0 === null || children1 === null || machine1[1] === machine0[1]) return [null, result];
  const others = machine1[0] - machine0[0] - (children1 - children0);
  return [Math.max(0, others / (machine1[1] - machine0[1])), result];
}

/** Share of the CPUs used by other processes above which a measurement is marked as disturbed. */
const BUSY_MARK = 0.25;

/** The background load just before a measurement, after waiting up to --wait-idle seconds for it to fall. */
async function settle() {
  const until = Date.now() + opts.waitIdle * 1000;
  let busy = await backgroundLoad();
  while (busy !== null && busy > BUSY_MARK && Date.now() < until) busy = await backgroundLoad(1000);
  return busy;
}

/** The telling line of a crashed child's stderr: the error itself, not Node's version footer. */
function crashReason(stderr, lastStdout) {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Node\.js v\d/.test(l));
  const thrown = lines.find((l) => /^(\w+\.)*\w*(Error|Exception)\b/.test(l));
  const fatal = lines.find((l) => /Illegal instruction|Segmentation fault|Aborted|FATAL/.test(l));
  return thrown ?? fatal ?? lines.at(-1) ?? lastStdout ?? '';
}

// Other benchmark runs on this machine (another `npm run bench`, another
// session) take turns through a lock file, one measurement at a time, so
// that no two measurements ever share the cores.
const LOCK = join(tmpdir(), 'neurite-bench.lock');

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

async function acquireLock() {
  let announced = false;
  for (;;) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
      return;
    } catch (e) {
      if (e.code !== 'EEXIST') return; // no lock possible here: measure anyway
    }
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(LOCK, 'utf8'));
    } catch {
      continue; // released in between
    }
    if (!Number.isInteger(holder) || !processAlive(holder)) {
      try {
        unlinkSync(LOCK);
      } catch {
        // another waiter removed the stale lock first
      }
      continue;
    }
    if (!announced) process.stderr.write(`bench: waiting for another benchmark run (pid ${holder}) to finish its measurement ...\n`);
    announced = true;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function releaseLock() {
  try {
    if (readFileSync(LOCK, 'utf8') === String(process.pid)) unlinkSync(LOCK);
  } catch {
    // not held
  }
}
process.on('exit', releaseLock);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

/**
 * Run `fn` holding the machine: the lock first, then --wait-idle; returns
 * [load of other processes just before, their load during, result].
 */
async function exclusive(fn) {
  await acquireLock();
  try {
    const before = await settle();
    const [during, result] = await withBackground(fn);
    return [before, during, result];
  } finally {
    releaseLock();
  }
}

/**
 * Run a child and parse the JSON object on the last line of its stdout. A
 * crash, a timeout or unreadable output becomes {error} for the caller.
 */
function runChild(command, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeout * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ error: `cannot start ${command}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return resolve({ error: `timeout: no result within ${opts.timeout} s (--timeout)`, timeout: true });
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(last);
        if (parsed && typeof parsed === 'object') return resolve(parsed);
      } catch {
        // fall through: report how the child ended
      }
      resolve({ error: `exited with ${signal ?? `code ${code}`}: ${crashReason(stderr, last).slice(0, 300)}` });
    });
  });
}

// ---- what is available -----------------------------------------------------

const neuriteProbe = await runChild(process.execPath, [join(benchDir, 'workloads', 'neurite.mjs'), JSON.stringify({ probe: true })], {
  NEURITE_NUM_THREADS: String(opts.threads),
});
if (neuriteProbe.error) {
  console.error(`bench: neurite does not load: ${neuriteProbe.error}`);
  process.exit(1);
}
const nativeRegistered = neuriteProbe.backends.includes('native');
const nativeBuilt = nativeRegistered || neuriteProbe.addon !== null;
const pytorch = probePytorch();
const hasPackage = (name) => existsSync(join(peersDir, 'node_modules', name, 'package.json'));

/** Workloads on which the reference backend runs unless --backends names it. */
const CHEAP_ON_REF = new Set(['mlp-small', 'xor-tiny', 'inference-1', 'inference-256', 'sgemm-128', 'sgemm-512', 'sgemm-fwd', 'sgemm-dW', 'sgemm-dX']);

const neuriteBackends = opts.backends ?? (nativeBuilt ? ['native', 'wasm', 'ref'] : ['wasm', 'ref']);
const refEverywhere = opts.backends?.includes('ref') || !neuriteBackends.some((b) => b !== 'ref');
const { seconds, warmupSeconds, threads } = opts;
const nodeScript = (file) => (w) => [
  process.execPath,
  [join(benchDir, file), JSON.stringify({ seconds, warmupSeconds, threads, workloads: [w], sgemm: gemmShapes([w]) })],
];
const blas = systemBlas();
/** Why PyTorch cannot be at its best here, or null. */
const pytorchHandicap =
  blas && !blas.includes('openblas')
    ? `PyTorch runs on the reference BLAS (${blas}), far below its speed on OpenBLAS: apt-get install libopenblas0-pthread`
    : null;

/** Every column of the table: neurite's backends, then the peers. */
const libraries = [
  ...neuriteBackends.map((backend) => ({
    id: `neurite-${backend}`,
    label: `neurite ${backend}`,
    neurite: true,
    runs: (w) => backend !== 'ref' || refEverywhere || CHEAP_ON_REF.has(w),
    command: (w) => [
      process.execPath,
      [join(benchDir, 'workloads', 'neurite.mjs'), JSON.stringify({ backend, seconds, warmupSeconds, workloads: [w], sgemm: gemmShapes([w]) })],
      { NEURITE_NUM_THREADS: String(threads) },
    ],
  })),
  // Issue 14: the same workloads with the step compiled (nt.compile), on the first backend, beside its eager column.
  ...(opts.compiled
    ? [
        {
          id: `neurite-${neuriteBackends[0]}-compiled`,
          label: `neurite ${neuriteBackends[0]} compiled`,
          neurite: true,
          compiled: true,
          runs: (w) => !w.startsWith('sgemm-') && w !== 'two-spirals',
          command: (w) => [
            process.execPath,
            [join(benchDir, 'workloads', 'neurite.mjs'), JSON.stringify({ backend: neuriteBackends[0], compile: true, seconds, warmupSeconds, workloads: [w] })],
            { NEURITE_NUM_THREADS: String(threads) },
          ],
        },
      ]
    : []),
  {
    id: 'pytorch',
    label: 'PyTorch',
    missing: pytorch.error ?? pytorchHandicap,
    runs: () => true,
    command: (w) => [
      PYTHON,
      [
        join(benchDir, 'pytorch_peer.py'),
        JSON.stringify({ seconds, warmupSeconds, threads, mnistDir: mnistDirectory(), workloads: [w], sgemm: gemmShapes([w]) }),
      ],
      pytorchEnv(threads),
    ],
  },
  ...['cpu', 'wasm'].map((backend) => ({
    id: `tfjs-${backend}`,
    label: `tfjs-${backend}`,
    missing: hasPackage('@tensorflow/tfjs') && hasPackage(`@tensorflow/tfjs-backend-${backend}`) ? null : 'not installed (npm run bench:setup)',
    runs: () => true,
    command: (w) => [
      process.execPath,
      [join(peersDir, 'tfjs.mjs'), JSON.stringify({ backend, seconds, warmupSeconds, threads, workloads: [w], sgemm: gemmShapes([w]) })],
    ],
  })),
  {
    id: 'brain.js',
    label: 'brain.js',
    // brain.js has no batched step: its xor-tiny figure is iterations of its own
    // train() (4 per-sample updates each, the loss not read back), shown for
    // reference but not a ratio.
    comparable: false,
    missing: hasPackage('brain.js') ? null : 'not installed (npm run bench:setup)',
    runs: (w) => w === 'xor-tiny',
    command: nodeScript('peers/brain.mjs'),
  },
  {
    id: 'onnxruntime',
    label: 'onnxruntime',
    missing: hasPackage('onnxruntime-node') ? null : 'not installed (npm run bench:setup)',
    runs: (w) => w.startsWith('inference-'),
    command: nodeScript('peers/onnxruntime.mjs'),
  },
].filter((lib) => {
  if (lib.neurite) return true;
  if (!opts.peers) return true;
  if (opts.peers.includes('none')) return false;
  return opts.peers.includes(lib.id) || (lib.id.startsWith('tfjs-') && opts.peers.includes('tfjs'));
});

// ---- measuring -------------------------------------------------------------

const measurements = [];
const libraryInfo = {};
const jobs = [];
// Rounds, each over every workload and library: load that comes and goes hits every library alike.
for (let round = 1; round <= opts.repeat; round++) {
  for (const row of rows) for (const lib of libraries) if (lib.runs(row.id) && !lib.missing) jobs.push({ row, lib, round });
}
const started = new Date();
const loadBefore = loadavg();
// --busy: one process spinning on a core for the whole run, as a laptop's browser or a shared server's neighbour would.
const busyProcess = opts.busy ? spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }) : null;
if (busyProcess) process.on('exit', () => busyProcess.kill('SIGKILL'));
process.stderr.write(
  `bench: ${jobs.length} measurements (${opts.repeat} rounds) of ${seconds} s after ${warmupSeconds} s of warm-up, one at a time, ${threads} thread(s) per library` +
    `${busyProcess ? ', one core kept busy by another process' : ''}; neurite backends: ${neuriteBackends.join(', ')}\n`,
);

for (const [i, { row, lib, round }] of jobs.entries()) {
  const [command, args, env] = lib.command(row.id);
  const [busyBefore, busyDuring, out] = await exclusive(() => runChild(command, args, env));
  const figure = out.error ? out : out[row.id];
  const value = typeof figure === 'number' ? figure : null;
  const error = value === null ? String(figure?.error ?? `no '${row.id}' in the output`) : null;
  const cpuPerWall = typeof out.cpuPerWall?.[row.id] === 'number' ? out.cpuPerWall[row.id] : null;
  const { [row.id]: _, cpuPerWall: _cpu, ...info } = out;
  if (!out.error) {
    // Per-workload facts (the compiled step's memory) accumulate over the jobs instead of replacing each other.
    const compileMemory = { ...libraryInfo[lib.id]?.compileMemory, ...info.compileMemory };
    libraryInfo[lib.id] = { ...libraryInfo[lib.id], ...info, ...(info.compileMemory ? { compileMemory } : {}) };
  }
  measurements.push({
    workload: row.id,
    library: lib.id,
    round,
    unit: row.unit,
    value,
    cpuPerWall,
    error,
    unavailable: Boolean(figure?.unavailable),
    busyBefore,
    busyDuring,
  });
  const background = busyDuring === null ? '' : `  (other processes: ${Math.round(busyDuring * 100)}% of the CPUs)`;
  const cpuText = cpuPerWall === null ? '' : `, ${cpuPerWall.toFixed(2)} CPU s/s`;
  const shown = value !== null ? `${formatNumber(value)} ${row.unit}${cpuText}${background}` : `error: ${error}`;
  process.stderr.write(`[${i + 1}/${jobs.length}] ${row.id.padEnd(14)} ${lib.label.padEnd(16)} ${shown}\n`);
}
busyProcess?.kill('SIGKILL');

let memory = null;
if (selected.includes('memory')) {
  const backend = nativeRegistered ? 'native' : 'ref';
  const steps = opts.memorySteps ?? (backend === 'native' ? 20000 : 2000);
  process.stderr.write(`memory: ${steps} training steps of mlp-small on ${backend} ...\n`);
  [, , memory] = await exclusive(() => runChild(process.execPath, [join(benchDir, 'memory.mjs'), '--steps', String(steps), '--backend', backend, '--json']));
  if (!nativeRegistered) memory.note = 'the native backend is not registered, so the memory check ran on the reference backend';
}
const loadAfter = loadavg();

// ---- the table -----------------------------------------------------------

function formatRatio(r) {
  return `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}x`;
}

function formatNumber(v) {
  if (!Number.isFinite(v)) return String(v);
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** Footnotes of the table: one per library and error text, listing the workloads it hit. */
const notes = [];
function noteFor(library, error, workload) {
  let i = notes.findIndex((n) => n.library === library && n.error === error);
  if (i < 0) i = notes.push({ library, error, workloads: [] }) - 1;
  notes[i].workloads.push(workload);
  return `[${i + 1}]`;
}

/** Whether other processes used more than BUSY_MARK of the CPUs while the measurement ran. */
function disturbed(m) {
  return m.busyDuring !== null && m.busyDuring > BUSY_MARK;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The figure of one (workload, library): the median of its successful
 * measurements, the spread (half their range over the median), the median CPU
 * seconds per wall second, and whether any ran disturbed; null when none succeeded.
 */
function stats(rowId, libId) {
  const ms = measurements.filter((x) => x.workload === rowId && x.library === libId && x.value !== null);
  if (ms.length === 0) return null;
  const values = ms.map((m) => m.value);
  const cpus = ms.map((m) => m.cpuPerWall).filter((c) => c !== null);
  const med = median(values);
  return {
    value: med,
    n: ms.length,
    min: Math.min(...values),
    max: Math.max(...values),
    spread: ms.length > 1 ? (Math.max(...values) - Math.min(...values)) / 2 / med : 0,
    cpuPerWall: cpus.length ? median(cpus) : null,
    disturbed: ms.some(disturbed),
  };
}

function cell(row, lib) {
  if (lib.missing) return lib.neurite ? '' : '-';
  if (!lib.runs(row.id)) return lib.id === 'neurite-ref' ? 'skip' : '-';
  const st = stats(row.id, lib.id);
  if (!st) {
    const m = measurements.find((x) => x.workload === row.id && x.library === lib.id);
    if (!m) return '';
    return `${m.unavailable ? 'n/a' : 'error'} ${noteFor(lib.label, m.error, row.id)}`;
  }
  const spread = st.n > 1 ? ` ±${(st.spread * 100).toFixed(st.spread < 0.1 ? 1 : 0)}%` : '';
  const cpuText = st.cpuPerWall === null ? '' : ` [${st.cpuPerWall.toFixed(2)}]`;
  return `${formatNumber(st.value)}${spread}${cpuText}${st.disturbed ? '*' : ''}`;
}

/** neurite's figure for a row: the native backend's when measured, else the reference backend's. */
function neuriteFigure(rowId) {
  for (const id of ['neurite-native', 'neurite-ref']) {
    const st = stats(rowId, id);
    if (st) return { ...st, backend: id.slice('neurite-'.length) };
  }
  return null;
}
const peerFigure = (rowId, libId) => stats(rowId, libId)?.value ?? null;

function renderTable(header, body) {
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)));
  const line = (cells) => cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

const peers = libraries.filter((l) => !l.neurite);
const absolute = renderTable(
  ['workload', 'unit', ...libraries.map((l) => l.label)],
  rows.map((row) => [row.label, row.unit, ...libraries.map((l) => cell(row, l))]),
);
const ratioPeers = peers.filter((p) => !p.missing && p.comparable !== false);
const ratios = renderTable(
  ['workload', 'neurite', ...ratioPeers.map((p) => `/ ${p.label}`)],
  rows.map((row) => {
    const n = neuriteFigure(row.id);
    return [
      row.label,
      n ? n.backend : '-',
      ...ratioPeers.map((p) => {
        const v = peerFigure(row.id, p.id);
        return n && v ? formatRatio(n.value / v) : '-';
      }),
    ];
  }),
);

// The wasm backend against the same peers (TensorFlow.js's wasm backend is its counterpart).
const wasmRatios = renderTable(
  ['workload', ...ratioPeers.map((p) => `/ ${p.label}`), 'native / wasm'],
  rows.map((row) => {
    const w = stats(row.id, 'neurite-wasm');
    const native = stats(row.id, 'neurite-native');
    return [
      row.label,
      ...ratioPeers.map((p) => {
        const v = peerFigure(row.id, p.id);
        return w && v ? formatRatio(w.value / v) : '-';
      }),
      w && native ? formatRatio(native.value / w.value) : '-',
    ];
  }),
);

// The compiled step against the same peers, and against the eager step of the same backend.
const compiledLib = libraries.find((l) => l.compiled);
const compiledRatios = compiledLib
  ? renderTable(
      ['workload', ...ratioPeers.map((p) => `/ ${p.label}`), 'compiled / eager'],
      rows.map((row) => {
        const c = stats(row.id, compiledLib.id);
        const e = stats(row.id, `neurite-${neuriteBackends[0]}`);
        return [
          row.label,
          ...ratioPeers.map((p) => {
            const v = peerFigure(row.id, p.id);
            return c && v ? formatRatio(c.value / v) : '-';
          }),
          c && e ? formatRatio(c.value / e.value) : '-',
        ];
      }),
    )
  : null;

/** The targets of issue 14 for compiled steps, on this run's medians. */
function compiledTargets() {
  if (!compiledLib) return [];
  const out = [];
  const c = (id) => stats(id, compiledLib.id)?.value ?? null;
  const pct = (x) => `${(x * 100).toFixed(0)}%`;
  const versus = (id, peer, factor, label) => {
    if (!selected.includes(id)) return;
    const a = c(id);
    const b = peerFigure(id, peer);
    if (!a || !b) return out.push(`${label}: not measured`);
    const r = a / b;
    out.push(`${label}: ${r.toFixed(2)}x -> ${r >= factor ? 'met' : `missed by ${pct(1 - r / factor)}`}`);
  };
  versus('xor-tiny', 'brain.js', 1, "xor-tiny compiled >= brain.js's figure (its own train() iterations, see above)");
  versus('inference-1', 'onnxruntime', 1, 'inference b1 compiled >= onnxruntime-node');
  versus('inference-256', 'onnxruntime', 1, 'inference b256 compiled >= onnxruntime-node');
  versus('lstm', 'pytorch', 1.2, 'lstm compiled >= 1.2x PyTorch');
  versus('mlp-small', 'pytorch', 1.5, 'mlp-small compiled >= 1.5x PyTorch');
  versus('mlp-wide', 'pytorch', 1.5, 'mlp-wide compiled >= 1.5x PyTorch');
  versus('lenet5', 'pytorch', 1.5, 'lenet5 compiled >= 1.5x PyTorch');
  const mem = libraryInfo[compiledLib.id]?.compileMemory?.lenet5;
  if (mem) {
    const held = mem.plannedBytes + mem.pinnedBytes;
    const r = mem.eagerBytes / held;
    out.push(
      `lenet5 step memory: eager allocates ${(mem.eagerBytes / 1e6).toFixed(2)} MB per step, the compiled step holds ${(held / 1e6).toFixed(2)} MB ` +
        `(${(mem.plannedBytes / 1e6).toFixed(2)} MB of reused buffers for ${mem.placed} of ${mem.allocations} arrays): ${r.toFixed(2)}x lower (target >= 2x) -> ${r >= 2 ? 'met' : 'missed'}`,
    );
  }
  return out;
}

/** The targets of issue 12 for the wasm backend on Node, on this run's medians. */
function wasmTargets() {
  const out = [];
  const w = (id) => stats(id, 'neurite-wasm')?.value ?? null;
  for (const id of ['mlp-small', 'mlp-wide', 'lstm', 'inference-1', 'inference-256']) {
    const a = w(id);
    const b = peerFigure(id, 'tfjs-wasm');
    if (a && b) out.push(`${id}: wasm / tfjs-wasm ${(a / b).toFixed(2)}x (target >= 2x): ${a / b >= 2 ? 'met' : 'MISSED'}`);
  }
  const g = w('sgemm-1024');
  if (g) out.push(`sgemm 1024^3: ${g.toFixed(1)} GFLOP/s on ${threads} thread(s) (target >= 55 on one, >= 100 on two): ${g >= (threads >= 2 ? 100 : 55) ? 'met' : 'MISSED'}`);
  const native = stats('mlp-small', 'neurite-native')?.value;
  const small = w('mlp-small');
  if (native && small) out.push(`mlp-small: native / wasm ${(native / small).toFixed(2)}x (target <= 3x): ${native / small <= 3 ? 'met' : 'MISSED'}`);
  return out;
}

// The targets of issue 11, checked on this run's medians. They are stated for
// one thread per library (--threads 1) on a quiet machine.
function targets() {
  const out = [];
  const fig = (id) => neuriteFigure(id);
  const pct = (x) => `${(x * 100).toFixed(0)}%`;
  if (threads !== 1) out.push(`(the targets are stated for --threads 1; this run used ${threads})`);
  if (busyProcess) out.push('(this run kept a core busy on purpose: the targets are for a quiet machine)');
  const versus = (id, factor) => {
    if (!selected.includes(id)) return;
    const n = fig(id);
    const p = peerFigure(id, 'pytorch');
    const label = `${id} >= ${factor}x PyTorch`;
    if (!n || !p) return out.push(`${label}: not measured (${n ? 'no PyTorch figure' : 'no neurite figure'})`);
    const r = n.value / p;
    out.push(`${label}: ${r.toFixed(2)}x on ${n.backend} -> ${r >= factor ? 'met' : `missed by ${pct(1 - r / factor)}`}`);
  };
  versus('lenet5', 1.3);
  versus('lstm', 1.3);
  versus('mlp-small', 1.5);
  versus('mlp-wide', 1.5);
  const big = fig('sgemm-1024');
  const torchGemm = peerFigure('sgemm-1024', 'pytorch');
  if (big && torchGemm) {
    const r = big.value / torchGemm;
    out.push(
      `sgemm 1024^3 >= PyTorch's (OpenBLAS ${pytorch.openblasCore ?? '?'} kernels): ${formatNumber(big.value)} vs ${formatNumber(torchGemm)} GFLOP/s -> ${r >= 1 ? 'met' : `missed by ${pct(1 - r)}`}`,
    );
  }
  for (const id of ['inference-1', 'inference-256']) {
    const n = fig(id);
    const o = peerFigure(id, 'onnxruntime');
    if (n && o) out.push(`${id}: neurite at ${(n.value / o).toFixed(2)}x onnxruntime-node's throughput`);
  }
  return out;
}

// ---- machine facts -----------------------------------------------------------

function cpuFacts() {
  const facts = { model: cpus()[0]?.model ?? 'unknown', cores: cpus().length };
  try {
    const first = readFileSync('/proc/cpuinfo', 'utf8').split('\n\n')[0];
    const field = (name) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(first)?.[1]?.trim();
    const flags = new Set((field('flags') ?? '').split(/\s+/));
    Object.assign(facts, {
      model: field('model name') ?? facts.model,
      family: field('cpu family'),
      modelNumber: field('model'),
      mhz: field('cpu MHz'),
      cache: field('cache size'),
      avx2: flags.has('avx2'),
      fma: flags.has('fma'),
      avx512f: flags.has('avx512f'),
    });
  } catch {
    // not Linux: os.cpus() is all there is
  }
  return facts;
}

const cpu = cpuFacts();
const describe = (b) =>
  neuriteProbe.describe?.[b] ?? (b === 'native' ? `not registered: ${neuriteProbe.addonError ?? 'the addon loads but no backend registers it'}` : '?');
const footer = [
  `CPU: ${cpu.model}${cpu.family ? ` (family ${cpu.family}, model ${cpu.modelNumber}, ${cpu.mhz} MHz, cache ${cpu.cache})` : ''}, ${cpu.cores} cores; ` +
    `AVX2 ${cpu.avx2 ? 'yes' : 'no'}, FMA ${cpu.fma ? 'yes' : 'no'}, AVX-512F ${cpu.avx512f ? 'yes' : 'no'}`,
  `Node ${process.version} on Linux ${release()}; load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(' ')} after`,
  `neurite ${neuriteProbe.version}: ${neuriteBackends.map((b) => `${b} = ${describe(b)}`).join('; ')}`,
  neuriteProbe.addon
    ? `neurite addon: isa ${neuriteProbe.addon.isa} (detected ${neuriteProbe.addon.detectedIsa}), sgemm tile ${neuriteProbe.addon.sgemmTile.join('x')}, ${neuriteProbe.addon.threads} threads` +
      (libraryInfo['neurite-native']?.sgemmVia ? `; sgemm rows measured through ${libraryInfo['neurite-native'].sgemmVia}` : '')
    : `neurite addon: ${neuriteProbe.addonError}`,
  pytorch.error
    ? `PyTorch: ${pytorch.error}`
    : `PyTorch ${pytorch.version} (${PYTHON}), a plain training loop, ${threads} intra-op thread(s), ` +
      `${Object.entries(pytorchEnv(threads))
        .map(([k, v]) => `${k}=${v}`)
        .join(
          ' ',
        )}, OpenBLAS ${pytorch.openblasCore ?? '?'} kernels (${blas ?? 'BLAS unknown'})${pytorchHandicap ? `; NOT AT ITS BEST: ${pytorchHandicap}` : ''}`,
  ...peers
    .filter((p) => p.id !== 'pytorch')
    .map((p) => {
      if (p.missing) return `${p.label}: ${p.missing}`;
      const info = libraryInfo[p.id];
      if (!info) return `${p.label}: ${jobs.some((j) => j.lib.id === p.id) ? 'no successful run' : 'not run'}`;
      const extra = p.id === 'tfjs-wasm' ? `, SIMD ${info.wasmSimd ? 'yes' : 'no'}, threads ${info.wasmThreads ? 'yes' : 'no'}` : '';
      return `${p.label} ${info.version}${p.id === 'onnxruntime' ? `, intraOpNumThreads ${threads}` : ''}${extra}`;
    }),
];

// ---- output ------------------------------------------------------------------

const busyCount = measurements.filter(disturbed).length;
const out = [
  '',
  `neurite benchmark, ${started.toISOString()}, ${seconds} s per measurement after ${warmupSeconds} s of warm-up, float32, MNIST pixels in [0, 1]`,
  `Each cell: the median of ${opts.repeat} measurement(s) in interleaved rounds, ±half their range, [CPU seconds per wall second]; ${threads} thread(s) per library${busyProcess ? '; one core kept busy by another process throughout' : ''}.`,
  '',
  absolute,
];
if (notes.length) out.push('', ...notes.map((n, i) => `[${i + 1}] ${n.library} (${n.workloads.join(', ')}): ${n.error}`));
out.push(
  '',
  "'-': the library has no such workload or is not installed; 'skip': the reference backend runs the cheap workloads only (--backends ref runs them all).",
);
if (busyCount) {
  out.push(
    `*: other processes kept more than ${pct0(BUSY_MARK)} of the CPUs busy while the measurement ran (${busyCount} of ${measurements.length}); figures may be low.`,
  );
}
out.push('', 'Ratios neurite / peer (higher is better for neurite):', '', ratios);
if (libraries.some((l) => l.id === 'neurite-wasm')) {
  out.push('', 'Ratios neurite wasm backend / peer, and native / wasm:', '', wasmRatios);
  const lines = wasmTargets();
  if (lines.length) out.push('', 'Targets of issue 12 (wasm on Node):', ...lines.map((t) => `  ${t}`));
}
if (peers.some((p) => p.comparable === false && !p.missing)) {
  out.push(
    'brain.js has no ratio: it has no batched training step, so its xor-tiny figure counts iterations of its own train() (4 per-sample updates each, the loss not read back), a different workload.',
  );
}
if (compiledRatios) {
  out.push('', `Ratios of the compiled step (${compiledLib.label}) / peer, and compiled / eager on the same backend:`, '', compiledRatios);
  const lines = compiledTargets();
  if (lines.length) out.push('', 'Targets of issue 14 (compiled steps):', ...lines.map((t) => `  ${t}`));
}
const targetLines = targets();
if (targetLines.length) out.push('', 'Targets of issue 11:', ...targetLines.map((t) => `  ${t}`));
if (memory) {
  out.push('', 'Memory (mlp-small training, live memory after a full GC):');
  if (memory.error) out.push(`  error: ${memory.error}`);
  else {
    const g = memory.growth;
    out.push(
      `  ${memory.steps} steps on ${memory.backend} in ${memory.seconds.toFixed(1)} s: rss ${memory.samples[0].rss.toFixed(1)} -> ${memory.samples.at(-1).rss.toFixed(1)} MB, ` +
        `heap ${memory.samples[0].heapUsed.toFixed(2)} -> ${memory.samples.at(-1).heapUsed.toFixed(2)} MB; second half: rss ${signed(g.rssMB)} MB, ` +
        `heap ${signed(g.heapUsedMB)} MB, array buffers ${signed(g.arrayBuffersMB)} MB (${memory.bytesPerStep.toFixed(1)} B/step) -> ${memory.flat ? 'flat' : 'GROWING'}`,
    );
    if (memory.note) out.push(`  (${memory.note})`);
  }
}
out.push('', ...footer);

function pct0(x) {
  return `${Math.round(x * 100)}%`;
}
function signed(x) {
  return `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
}

if (opts.save) {
  const resultsDir = join(benchDir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const p2 = (n) => String(n).padStart(2, '0');
  const d = started;
  const stamp = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}-${p2(d.getHours())}${p2(d.getMinutes())}${p2(d.getSeconds())}`;
  const file = join(resultsDir, `${stamp}${opts.isa ? `-${opts.isa}` : ''}.json`);
  const record = {
    date: started.toISOString(),
    options: { ...opts, only: selected },
    machine: { cpu, node: process.version, kernel: release(), loadavgBefore: loadBefore, loadavgAfter: loadAfter },
    neurite: { ...neuriteProbe, backends: neuriteBackends, registered: neuriteProbe.backends },
    libraries: Object.fromEntries(
      libraries.map((l) => [
        l.id,
        { missing: l.missing ?? null, ...(libraryInfo[l.id] ?? {}), ...(l.id === 'pytorch' ? { probe: pytorch, env: pytorchEnv(threads) } : {}) },
      ]),
    ),
    workloads: rows,
    figures: Object.fromEntries(rows.map((row) => [row.id, Object.fromEntries(libraries.map((l) => [l.id, stats(row.id, l.id)]).filter(([, v]) => v))])),
    measurements,
    notes,
    targets: targetLines,
    memory,
  };
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  out.push('', `Results: ${relative(root, file)}`);
}

console.log(out.join('\n'));

// The same workloads in Chromium, neurite's wasm backend against TensorFlow.js's wasm backend in the same
// browser (issue 12): bench/browser.mjs, with this run's seconds, warm-up, repeats and workloads.
const BROWSER_WORKLOADS = ['mlp-small', 'mlp-wide', 'lenet5', 'lstm', 'inference-1', 'inference-256', 'sgemm-1024', 'two-spirals'];
const browserWorkloads = BROWSER_WORKLOADS.filter((w) => w === 'two-spirals' || selected.includes(w));
if (opts.browser && existsSync('/usr/bin/chromium') && browserWorkloads.some((w) => w !== 'two-spirals')) {
  console.log('\nThe same workloads in Chromium (npm run bench:browser; --no-browser skips this):');
  const argv = ['--seconds', String(seconds), '--warmup', String(warmupSeconds), '--repeat', String(opts.repeat), '--only', browserWorkloads.join(',')];
  if (!opts.save) argv.push('--no-save');
  const child = spawn(process.execPath, [join(benchDir, 'browser.mjs'), ...argv], { stdio: ['ignore', 'inherit', 'inherit'] });
  await new Promise((resolve) => child.on('close', resolve));
}

// ResNet-18 at 224×224 (issue 18): neurite's models.resnet18 against torchvision's in PyTorch and the ONNX export
// in onnxruntime-node, at this run's thread count (bench/resnet.mjs; npm run bench:resnet runs it alone).
if (opts.resnet && opts.only === null) {
  console.log('\nResNet-18 (npm run bench:resnet; --no-resnet skips this):');
  const argv = ['--threads', String(opts.threads), '--repeat', String(Math.max(3, opts.repeat))];
  if (!opts.save) argv.push('--no-save');
  const child = spawn(process.execPath, [join(benchDir, 'resnet.mjs'), ...argv], { stdio: ['ignore', 'inherit', 'inherit'] });
  await new Promise((resolve) => child.on('close', resolve));
}
