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
  const env = { OMP_NUM_THREADS: t, MKL_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t };
  // Above one thread PyTorch's OpenMP threads spin after each parallel region
  // while OpenBLAS's own threads need the same cores: on 2 cores a batch-256
  // mlp-wide inference ran at 36k samples/s against 100k on one thread.
  // Passive waiting (a libgomp setting) gives it 165k, its best here.
  if (threads > 1) env.OMP_WAIT_POLICY = 'PASSIVE';
  return env;
}

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
    env: { ...process.env, ...PYTORCH_ENV, OPENBLAS_VERBOSE: '2' },
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
