import type { BinaryOp, Kernels, UnaryOp } from './contract.js';

/*
 * The instruction set of FusedKernels.elementwiseProgram, and the rule a
 * backend's version must equal. A compiled step (src/compile/fuse.ts) turns a
 * run of element-wise kernel calls over arrays of one length into one
 * program: every instruction is one of those kernels, so the rule is simply
 * the kernels run one after another, each over the whole arrays. A backend
 * runs the instructions over blocks of elements instead, keeping temporaries
 * in registers or a small buffer; since each instruction is element-wise, the
 * order of operations on every element is unchanged, and a backend whose
 * program applies its own unary and binary kernels' arithmetic gives their
 * bits.
 *
 * Encoding: four int32 per instruction, [op, destination, source, source 2
 * (-1 for one-source ops)]. Slot s names inputs[s] for s < inputs.length,
 * outputs[s - inputs.length] below inputs.length + outputs.length, and
 * temporary (s - inputs.length - outputs.length) above, PROGRAM_TEMPS at
 * most. An input of one element is a value broadcast to every element.
 */

/** Opcodes; the order is native/kernels.h's ProgramOp. */
export const PROGRAM_OPS = ['relu', 'sigmoid', 'tanh', 'exp', 'neg', 'add', 'sub', 'mul', 'div', 'reluBackward'] as const;

export type ProgramOp = (typeof PROGRAM_OPS)[number];

/** Temporaries a program may use (native/kernels.h's kProgramTemps). */
export const PROGRAM_TEMPS = 8;

/** The unary kernel ops a program has an instruction for. */
export const PROGRAM_UNARY: ReadonlySet<UnaryOp> = new Set<UnaryOp>(['relu', 'sigmoid', 'tanh', 'exp', 'neg']);
/** The binary kernel ops a program has an instruction for. */
export const PROGRAM_BINARY: ReadonlySet<BinaryOp> = new Set<BinaryOp>(['add', 'sub', 'mul', 'div']);

/** Reads a program back as text, one instruction per entry: `o0 = mul(in0, t1)`. */
export function describeProgram(code: Int32Array, inputs: number, outputs: number): string[] {
  const slot = (s: number) => (s < inputs ? `in${s}` : s < inputs + outputs ? `out${s - inputs}` : `tmp${s - inputs - outputs}`);
  const lines: string[] = [];
  for (let i = 0; i < code.length; i += 4) {
    const sources = code[i + 3] < 0 ? [code[i + 2]] : [code[i + 2], code[i + 3]];
    lines.push(`${slot(code[i + 1])} = ${PROGRAM_OPS[code[i]]}(${sources.map(slot).join(', ')})`);
  }
  return lines;
}

/**
 * The rule: each instruction as the kernel it stands for, over whole arrays
 * (temporaries as arrays of n), in order. `kernels` is the table whose
 * arithmetic the program must reproduce (the backend's own, with the
 * reference for the rest). The parity tests hold every backend's program to it.
 */
export function runProgram(kernels: Kernels, code: Int32Array, inputs: readonly Float32Array[], outputs: readonly Float32Array[], n: number): void {
  const temps = Array.from({ length: PROGRAM_TEMPS }, () => new Float32Array(n));
  const at = (s: number): Float32Array =>
    s < inputs.length ? inputs[s] : s < inputs.length + outputs.length ? outputs[s - inputs.length] : temps[s - inputs.length - outputs.length];
  const full = (s: number): Float32Array => {
    const a = at(s);
    return a.length === n ? a : new Float32Array(n).fill(a[0]);
  };
  for (let i = 0; i < code.length; i += 4) {
    const op = PROGRAM_OPS[code[i]];
    const out = at(code[i + 1]);
    if (op === 'reluBackward') kernels.reluBackward(full(code[i + 2]), full(code[i + 3]), out);
    else if (PROGRAM_BINARY.has(op as BinaryOp)) kernels.binary(op as BinaryOp, full(code[i + 2]), [n], full(code[i + 3]), [n], out, [n]);
    else kernels.unary(op as UnaryOp, full(code[i + 2]), out);
  }
}
