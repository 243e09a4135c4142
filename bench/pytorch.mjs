// How the PyTorch peer is run: Debian's python3-torch belongs to the system
// interpreter (/usr/bin/python3), not to the pyenv one that PATH finds first.
// BENCH_PYTHON overrides the interpreter on other machines.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

/**
 * PyTorch's threads: `threads` intra-op (OpenMP) threads and as many OpenBLAS
 * threads, set in the environment because OpenBLAS reads it when it loads.
 * Measured on 2 cores: at one thread, OPENBLAS_NUM_THREADS=2 (what this bench
 * used before) made small training steps 1.3-1.5x slower than a single BLAS
 * thread, since every small product woke a second BLAS thread.
 */
export function pytorchEnv(threads) {
  const t = String(threads);
  const env = { OMP_NUM_THREADS: t, MKL_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, ...PYTORCH_TUNING, ...avx2Env() };
  // Above one thread PyTorch's OpenMP threads spin after each parallel region
  // while OpenBLAS's own threads need the same cores: on 2 cores a batch-256
  // mlp-wide inference ran at 36k samples/s against 100k on one thread.
  // Passive waiting (a libgomp setting) gives it 165k, its best here.
  if (threads > 1) env.OMP_WAIT_POLICY = 'PASSIVE';
  return env;
}

/** A shared library's path among Debian's, or null. */
function systemLibrary(...names) {
  for (const n of names) {
    const path = `/usr/lib/x86_64-linux-gnu/${n}`;
    if (existsSync(path)) return path;
  }
  return null;
}

/**
 * What PyTorch's own CPU performance guide asks for, where this machine has
 * it: TCMalloc (or jemalloc) in place of glibc's malloc. With glibc, a fresh
 * process training mlp-wide maps and unmaps its large tensors every step and
 * pays the page faults. Measured on a Zen 5 at one thread (OpenBLAS
 * Cooperlake kernels): mlp-wide 6.1k samples/s with glibc against 21.5k with
 * TCMalloc, mlp-small 90k against 155k, lenet5 11k against 15k, lstm 2.1-4.0k
 * against 4.2k. Set NEURITE_BENCH_PLAIN_PYTORCH=1 to run it on glibc.
 */
function pytorchTuning() {
  // OpenBLAS chooses its kernels for the CPU unless OPENBLAS_CORETYPE forces a set. Some machines export
  // OPENBLAS_CORETYPE=Haswell for everything; on an AVX-512 CPU that halves PyTorch's products (103 against
  // 170-194 GFLOP/s at 1024^3 on a Zen 5), so the bench clears it (an empty value is OpenBLAS's own choice).
  // NEURITE_BENCH_OPENBLAS_CORETYPE forces a set on purpose (the AVX2 comparison: Haswell).
  const env = { OPENBLAS_CORETYPE: process.env.NEURITE_BENCH_OPENBLAS_CORETYPE ?? '' };
  if (process.env.NEURITE_BENCH_PLAIN_PYTORCH === '1') return env;
  const malloc = systemLibrary('libtcmalloc_minimal.so.4', 'libtcmalloc.so.4', 'libjemalloc.so.2');
  if (malloc) env.LD_PRELOAD = malloc;
  return env;
}

/**
 * With NEURITE_BENCH_ISA=avx2 (`npm run bench -- --isa avx2`): PyTorch as it
 * runs on a CPU without AVX-512 (a Zen 3, say), on this one. OpenBLAS then
 * picks its Haswell kernels (what it picks on a Zen 3), oneDNN (PyTorch's
 * convolutions) stops at AVX2, and ATen's own kernels stay at AVX2 (Debian's
 * PyTorch 1.13 uses AVX2 on an AVX-512 CPU too unless told otherwise).
 */
function avx2Env() {
  if (process.env.NEURITE_BENCH_ISA !== 'avx2') return {};
  return { OPENBLAS_CORETYPE: 'Haswell', ONEDNN_MAX_CPU_ISA: 'AVX2', DNNL_MAX_CPU_ISA: 'AVX2', ATEN_CPU_CAPABILITY: 'avx2' };
}

/** Extra environment that puts PyTorch at its best here (see pytorchTuning). */
export const PYTORCH_TUNING = existsSync(PYTHON) ? pytorchTuning() : {};

/** The environment for one-off PyTorch runs (probing, exporting). */
export const PYTORCH_ENV = pytorchEnv(1);

/**
 * {version, openblasCore} of the installed PyTorch (the OpenBLAS kernel set
 * chosen for this CPU, when PyTorch runs on OpenBLAS), or {error} saying why
 * it cannot run.
 */
export function probePytorch() {
  if (!existsSync(PYTHON)) return { error: `${PYTHON} not found (BENCH_PYTHON names another interpreter)` };
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], {
    encoding: 'utf8',
    env: { ...process.env, ...pytorchEnv(1), OPENBLAS_VERBOSE: '2' },
  });
  if (r.status !== 0) {
    const last = (r.stderr || r.error?.message || 'failed').trim().split('\n').pop();
    return { error: `PyTorch is not importable with ${PYTHON}: ${last} (apt-get install python3-torch libopenblas0-pthread)` };
  }
  const core = /Core: (\S+)/.exec(r.stderr ?? '');
  return { version: r.stdout.trim().split('\n').pop(), openblasCore: core ? core[1] : null };
}

/** The shared library behind libblas.so.3 (Debian's alternatives), or null when it cannot be resolved. */
export function systemBlas() {
  const r = spawnSync('readlink', ['-f', '/usr/lib/x86_64-linux-gnu/libblas.so.3'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}
