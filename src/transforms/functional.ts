import { gradients } from '../autograd/backward.js';
import { enableGrad, isGradEnabled } from '../core/engine.js';
import { AutogradError, fmtShape, ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { concat } from '../ops/index.js';

/** A function of tensors to a tensor, as grad, valueAndGrad and vjp take it. */
export type TensorFunction = (...args: Tensor[]) => Tensor;
type Fn = TensorFunction;

/**
 * Make the arguments differentiable. An argument that already requires a
 * gradient under an enclosing differentiation is used as is, so that the
 * result stays connected to the outer graph (that is what makes grad(grad(f))
 * work); others get a fresh detached leaf.
 */
function prepare(args: readonly Tensor[], argnums: readonly number[], fnName: string): { inputs: Tensor[]; nested: boolean } {
  let nested = false;
  const inputs = args.map((a, i) => {
    if (!(a instanceof Tensor)) throw new ValueError(`${fnName}: argument ${i} must be a Tensor`);
    if (!argnums.includes(i)) return a;
    if (a.requiresGrad && isGradEnabled()) {
      nested = true;
      return a;
    }
    return a.detach().requiresGrad_();
  });
  return { inputs, nested };
}

function scalarOutput(fnName: string, y: unknown): Tensor {
  if (!(y instanceof Tensor)) throw new ValueError(`${fnName}: the function must return a Tensor, got ${typeof y}`);
  if (y.size !== 1) throw new AutogradError(`${fnName}: the function must return a single-element tensor, got shape ${fmtShape(y.shape)}`);
  return y;
}

function normalizeArgnums(argnums: number | readonly number[] | undefined, nargs: number, fnName: string): number[] {
  const list = argnums === undefined ? [0] : typeof argnums === 'number' ? [argnums] : [...argnums];
  for (const a of list) {
    if (!Number.isInteger(a) || a < 0 || a >= nargs) throw new ValueError(`${fnName}: argnum ${a} is out of range for ${nargs} arguments`);
  }
  return list;
}

/**
 * valueAndGrad(f)(...args) returns [f(...args), df/dargs[argnums]]. With a
 * single argnum (default 0) the gradient is a Tensor; with an array, an array.
 */
export function valueAndGrad(f: Fn, options?: { argnums?: number }): (...args: Tensor[]) => [Tensor, Tensor];
export function valueAndGrad(f: Fn, options: { argnums: readonly number[] }): (...args: Tensor[]) => [Tensor, Tensor[]];
export function valueAndGrad(f: Fn, options: { argnums?: number | readonly number[] } = {}): (...args: Tensor[]) => [Tensor, Tensor | Tensor[]] {
  return (...args: Tensor[]) => {
    const argnums = normalizeArgnums(options.argnums, args.length, 'valueAndGrad');
    const { inputs, nested } = prepare(args, argnums, 'valueAndGrad');
    const y = scalarOutput(
      'valueAndGrad',
      enableGrad(() => f(...inputs)),
    );
    const targets = argnums.map((i) => inputs[i]);
    const gs = gradients(y, targets, undefined, { createGraph: nested, retainGraph: nested });
    const value = nested ? y : y.detach();
    return [value, typeof options.argnums === 'object' ? gs : gs[0]];
  };
}

/** grad(f)(...args): the gradient of a scalar function with respect to args[argnums]. */
export function grad(f: Fn, options?: { argnums?: number }): (...args: Tensor[]) => Tensor;
export function grad(f: Fn, options: { argnums: readonly number[] }): (...args: Tensor[]) => Tensor[];
export function grad(f: Fn, options: { argnums?: number | readonly number[] } = {}): (...args: Tensor[]) => Tensor | Tensor[] {
  const vg = valueAndGrad(f, options as { argnums: readonly number[] });
  return (...args: Tensor[]) => vg(...args)[1];
}

function basis(like: Tensor, i: number): Tensor {
  const t = new Tensor(new (like.data.constructor as Float64ArrayConstructor)(like.size), like.shape);
  t.data[i] = 1;
  return t;
}

function stackRows(rows: Tensor[], leading: readonly number[], trailing: readonly number[]): Tensor {
  const shape = [...leading, ...trailing];
  if (rows.length === 0) return new Tensor(new Float32Array(0), shape);
  return concat(
    rows.map((r) => r.reshape([1, r.size])),
    0,
  ).reshape(shape);
}

/**
 * The Jacobian of f at x: shape [...f(x).shape, ...x.shape], computed one
 * output element at a time by vector-Jacobian products.
 */
export function jacobian(f: (x: Tensor) => Tensor, x: Tensor, options: { createGraph?: boolean } = {}): Tensor {
  const { inputs, nested } = prepare([x], [0], 'jacobian');
  const xi = inputs[0];
  const y = enableGrad(() => f(xi));
  if (!(y instanceof Tensor)) throw new ValueError('jacobian: the function must return a Tensor');
  const createGraph = options.createGraph ?? nested;
  const rows: Tensor[] = [];
  for (let i = 0; i < y.size; i++) {
    rows.push(gradients(y, [xi], [basis(y, i)], { retainGraph: true, createGraph })[0]);
  }
  return stackRows(rows, y.shape, x.shape);
}

/** The Hessian of a scalar function at x: shape [...x.shape, ...x.shape]. */
export function hessian(f: (x: Tensor) => Tensor, x: Tensor): Tensor {
  return jacobian((xi) => grad(f)(xi), x);
}

/** Hessian-vector product H(x)·v without forming H: the gradient of <grad f(x), v>. */
export function hvp(f: (x: Tensor) => Tensor, x: Tensor, v: Tensor): Tensor {
  if (!(v instanceof Tensor) || v.ndim !== x.ndim || v.shape.some((d, i) => d !== x.shape[i])) {
    throw new ValueError(`hvp: v must have the shape of x ${fmtShape(x.shape)}, got ${v instanceof Tensor ? fmtShape(v.shape) : typeof v}`);
  }
  const { inputs, nested } = prepare([x], [0], 'hvp');
  const xi = inputs[0];
  const g = enableGrad(() => grad(f)(xi));
  // The product is linear in v: when v itself requires a gradient, keep the graph so it can flow back to v.
  const keep = nested || (v.requiresGrad && isGradEnabled());
  return gradients(g, [xi], [v.cast(g.dtype)], { createGraph: keep, retainGraph: keep })[0];
}

/** Vector-Jacobian product vᵀ·J of f at x, and f(x). */
export function vjp(f: (x: Tensor) => Tensor, x: Tensor, v: Tensor): [Tensor, Tensor] {
  const { inputs, nested } = prepare([x], [0], 'vjp');
  const y = enableGrad(() => f(inputs[0]));
  const keep = nested || (v.requiresGrad && isGradEnabled());
  const g = gradients(y, [inputs[0]], [v], { createGraph: keep, retainGraph: keep })[0];
  return [nested ? y : y.detach(), g];
}
