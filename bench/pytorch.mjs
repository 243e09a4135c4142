// How the PyTorch peer is run: Debian's python3-torch belongs to the system
// interpreter (/usr/bin/python3), not to the pyenv one that PATH finds first.
// BENCH_PYTHON overrides the interpreter on other machines.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

/**
 * PyTorch's best setting on a 2-core machine: one intra-op (OpenMP) thread
 * and two OpenBLAS threads; two of each oversubscribe the cores and run 4-9x
 * slower. Set in the environment because OpenBLAS reads it when it loads.
 */
export const PYTORCH_ENV = { OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '2' };

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
