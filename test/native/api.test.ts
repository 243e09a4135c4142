// The addon's loader, runtime controls and argument validation.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cpuFeatures, NATIVE_ABI_VERSION, nativeAddonPath, nativeLoadError } from '../../src/backends/native/binding.js';

import { addon, nativeTest } from './harness.js';

test('loader reports either an addon or a reason', () => {
  if (addon === null) {
    assert.equal(typeof nativeLoadError(), 'string');
    assert.equal(cpuFeatures(), null);
  } else {
    assert.equal(nativeLoadError(), null);
    assert.equal(addon.abiVersion, NATIVE_ABI_VERSION);
    assert.ok(nativeAddonPath().endsWith('neurite_native.node'));
  }
});

test('NEURITE_DISABLE_NATIVE=1 makes the loader return null with a reason', () => {
  const bindingUrl = new URL('../../src/backends/native/binding.js', import.meta.url).href;
  const script = `import(${JSON.stringify(bindingUrl)}).then((m) => { console.log(JSON.stringify([m.loadNativeAddon() === null, m.nativeLoadError()])); });`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, NEURITE_DISABLE_NATIVE: '1' },
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('.', import.meta.url)),
  });
  assert.equal(res.status, 0, res.stderr);
  const [isNull, reason] = JSON.parse(res.stdout) as [boolean, string];
  assert.equal(isNull, true);
  assert.match(reason, /NEURITE_DISABLE_NATIVE/);
});

nativeTest('cpuFeatures, setNumThreads, setIsa', (a) => {
  const f = a.cpuFeatures();
  assert.ok(['avx512', 'avx2', 'scalar'].includes(f.isa));
  assert.ok(f.maxThreads >= 1);
  assert.equal(f.sgemmTile.length, 2);
  assert.equal(cpuFeatures()?.isa, f.isa);
  assert.equal(a.setNumThreads(1), 1);
  assert.equal(a.getNumThreads(), 1);
  assert.equal(a.setNumThreads(1000), f.maxThreads);
  assert.equal(a.setIsa('scalar'), 'scalar');
  assert.equal(a.cpuFeatures().isa, 'scalar');
  assert.equal(a.setIsa('auto'), f.detectedIsa);
  assert.throws(() => a.setNumThreads(0), RangeError);
  assert.throws(
    () => a.setIsa('sse9' as 'auto'),
    (e: unknown) => e instanceof RangeError && /setIsa/.test(e.message),
  );
});

nativeTest('sgemm validates types, sizes, leading dimensions and overlap', (a) => {
  const A = new Float32Array(6);
  const B = new Float32Array(6);
  const C = new Float32Array(4);
  a.sgemm(false, false, 2, 2, 3, 1, A, 3, B, 2, 0, C, 2);
  const isErr =
    (ctor: typeof TypeError | typeof RangeError, ...patterns: RegExp[]) =>
    (e: unknown): boolean =>
      e instanceof ctor && /^sgemm: /.test(e.message) && patterns.every((p) => p.test(e.message));
  // Wrong array types.
  assert.throws(
    () => a.sgemm(false, false, 2, 2, 3, 1, new Float64Array(6) as unknown as Float32Array, 3, B, 2, 0, C, 2),
    isErr(TypeError, /'a'/, /Float32Array/),
  );
  assert.throws(() => a.sgemm(false, false, 2, 2, 3, 1, A, 3, [0, 0] as unknown as Float32Array, 2, 0, C, 2), isErr(TypeError, /'b'/));
  assert.throws(() => a.sgemm(0 as unknown as boolean, false, 2, 2, 3, 1, A, 3, B, 2, 0, C, 2), isErr(TypeError, /transA/));
  // Bad sizes.
  assert.throws(() => a.sgemm(false, false, 2.5, 2, 3, 1, A, 3, B, 2, 0, C, 2), isErr(RangeError, /'m'/));
  assert.throws(() => a.sgemm(false, false, -1, 2, 3, 1, A, 3, B, 2, 0, C, 2), isErr(RangeError, /'m'/));
  assert.throws(() => a.sgemm(false, false, 2, 2, 3, 1, A, 2, B, 2, 0, C, 2), isErr(RangeError, /lda/));
  assert.throws(() => a.sgemm(false, true, 2, 2, 3, 1, A, 3, B, 2, 0, C, 2), isErr(RangeError, /ldb/));
  assert.throws(() => a.sgemm(false, false, 2, 2, 3, 1, A, 3, B, 2, 0, C, 1), isErr(RangeError, /ldc/));
  assert.throws(() => a.sgemm(false, false, 2, 2, 3, 1, A.subarray(1), 3, B, 2, 0, C, 2), isErr(RangeError, /'a' is too short/));
  assert.throws(() => a.sgemm(false, false, 2, 2, 3, 1, A, 3, B, 2, 0, C, 3), isErr(RangeError, /'c' is too short/));
  assert.throws(() => a.sgemm(false, false, 2, 2, 3, 'x' as unknown as number, A, 3, B, 2, 0, C, 2), isErr(TypeError, /alpha/));
  // Output overlapping an input.
  const shared = new Float32Array(16);
  assert.throws(() => a.sgemm(false, false, 2, 2, 3, 1, shared, 3, B, 2, 0, shared.subarray(4), 2), isErr(RangeError, /overlap/));
  // A transposed operand reads [k, m] with lda >= m.
  a.sgemm(true, false, 2, 2, 3, 1, A, 2, B, 2, 0, C, 2);
});

nativeTest('element-wise and reduction kernels validate their arguments', (a) => {
  const x = new Float32Array(8);
  assert.throws(
    () => a.relu(x, new Float32Array(4), 8),
    (e: unknown) => e instanceof RangeError && /^relu: 'out' is too short/.test(e.message),
  );
  assert.throws(
    () => a.exp(x, x.subarray(1), 7),
    (e: unknown) => e instanceof RangeError && /^exp: .*overlap/.test(e.message),
  );
  assert.throws(
    () => a.add(x, new Int32Array(8) as unknown as Float32Array, x, 8),
    (e: unknown) => e instanceof TypeError && /^add: argument 'b'/.test(e.message),
  );
  assert.throws(
    () => a.biasAdd(x, new Float32Array(3), x, 2, 4),
    (e: unknown) => e instanceof RangeError && /^biasAdd: 'bias'/.test(e.message),
  );
  assert.throws(
    () => a.sumRows(x, x, 2, 4),
    (e: unknown) => e instanceof RangeError && /^sumRows: .*overlap/.test(e.message),
  );
  assert.throws(
    () => a.sumAll(x, 9),
    (e: unknown) => e instanceof RangeError && /^sumAll: 'x'/.test(e.message),
  );
  assert.throws(
    () => (a.tanh as unknown as (p: Float32Array, q: Float32Array) => void)(x, x),
    (e: unknown) => e instanceof TypeError && /^tanh: argument 'n'/.test(e.message),
  );
  assert.throws(
    () => a.lstmCellForward(new Float32Array(8), new Float32Array(2), new Float32Array(2), new Float32Array(2), new Float32Array(7), 1, 2),
    (e: unknown) => e instanceof RangeError && /^lstmCellForward: 'outGates'/.test(e.message),
  );
  // The broadcast kernels, where, max/min and permute (native/broadcast.cc).
  const expectError = (f: () => void, kind: typeof RangeError | typeof TypeError, pattern: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof kind && pattern.test((e as Error).message), String(pattern));
  expectError(() => a.broadcastBinary(6, x, 0, x, 0, new Float32Array(8), 2, 4), RangeError, /^broadcastBinary: op 6 is not one of the 6 ops/);
  expectError(() => a.broadcastBinary(0, x, 4, x, 0, new Float32Array(8), 2, 4), RangeError, /^broadcastBinary: aForm must be 0 \(full\)/);
  expectError(
    () => a.broadcastBinary(0, x, 0, new Float32Array(3), 2, new Float32Array(8), 2, 4),
    RangeError,
    /^broadcastBinary: 'b' is too short: needs at least 4/,
  );
  const shifted = new Float32Array(9);
  expectError(() => a.broadcastBinary(0, shifted.subarray(0, 8), 0, x, 3, shifted.subarray(1), 2, 4), RangeError, /^broadcastBinary: .*overlap/);
  expectError(
    () => a.compare(2, x, 0, x, 1, new Float32Array(8) as unknown as Uint8Array, 2, 4),
    TypeError,
    /^compare: argument 'out' \(#5\) must be a Uint8Array/,
  );
  expectError(() => a.where(new Uint8Array(3), 0, x, 0, x, 0, new Float32Array(8), 2, 4), RangeError, /^where: 'cond' is too short/);
  expectError(() => a.where(new Uint8Array(8), 0, x, 5, x, 0, new Float32Array(8), 2, 4), RangeError, /^where: aForm must be/);
  expectError(() => a.reduceExtreme(true, x, x, 2, 2, 2), RangeError, /^reduceExtreme: .*overlap/);
  expectError(() => a.permute(x, new Float32Array(8), Int32Array.of(2, 4), Int32Array.of(0, 0)), RangeError, /^permute: perm is not a permutation/);
  expectError(() => a.permute(x, new Float32Array(8), new Int32Array(9).fill(1), new Int32Array(9)), RangeError, /^permute: rank 9 is not in \[1, 8\]/);
  expectError(() => a.permute(x, new Float32Array(7), Int32Array.of(2, 4), Int32Array.of(1, 0)), RangeError, /^permute: 'out' is too short/);
  // A zero-length call is a no-op, even with empty arrays.
  a.relu(new Float32Array(0), new Float32Array(0), 0);
  assert.equal(a.sumAll(new Float32Array(0), 0), 0);
});

// The addon raises glibc's malloc thresholds at load, so that the arrays a step frees are reused by the next step
// instead of faulted in afresh (native/addon.cc, tune_malloc). Each child frees and reallocates 32 MB a round.
nativeTest('loading the addon keeps freed memory for reuse (glibc malloc thresholds); NEURITE_MALLOC=system leaves malloc alone', () => {
  const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime;
  if (glibc === undefined) return;
  const script = `
    const a = require(${JSON.stringify(nativeAddonPath())});
    const before = process.resourceUsage().minorPageFault;
    for (let i = 0; i < 100; i++) {
      let arrays = [];
      for (let j = 0; j < 8; j++) arrays.push(new Float32Array(Buffer.allocUnsafeSlow(4 << 20).buffer).fill(1));
      arrays = null;
      globalThis.gc();
    }
    console.log(JSON.stringify({ malloc: a.cpuFeatures().malloc, faults: process.resourceUsage().minorPageFault - before }));`;
  const run = (env: Record<string, string>) => {
    const { GLIBC_TUNABLES: _user, NEURITE_MALLOC: _chosen, ...inherited } = process.env;
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', env: { ...inherited, ...env } });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { malloc: string; faults: number };
  };
  const tuned = run({});
  const system = run({ NEURITE_MALLOC: 'system' });
  assert.equal(tuned.malloc, 'glibc, mmap threshold 32 MiB, trim threshold 128 MiB');
  assert.equal(system.malloc, 'system (NEURITE_MALLOC=system)');
  assert.equal(run({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=1048576' }).malloc, 'system (GLIBC_TUNABLES)');
  // Measured here: 10-12k minor faults tuned against 20-41k with glibc's defaults.
  assert.ok(tuned.faults < system.faults, `page faults: ${tuned.faults} with the thresholds raised, ${system.faults} without`);
});
