import { SerializationError, ValueError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { type LayerConfig, Module } from '../module.js';
import { registerLayer } from '../registry.js';

/** The function a Lambda layer applies; it receives the layer's inputs. */
export type LambdaFunction<R extends Tensor | Tensor[] = Tensor | Tensor[]> = (...inputs: Tensor[]) => R;

const lambdaFunctions = new Map<string, LambdaFunction>();

/**
 * Wraps a user function as a layer (Keras' Lambda), e.g.
 * `new Lambda((x) => x.mul(2))`. It has no parameters; its gradient comes from
 * the tensor operations inside.
 *
 * Saving: a function cannot be written to an architecture file, so a Lambda
 * is serializable only when its function is registered by name,
 * `Lambda.register('double', (x) => x.mul(2))`, and the layer is built from
 * that name (`new Lambda('double')`) or from the registered function itself.
 * getConfig() of an unregistered Lambda throws a SerializationError saying so.
 */
export class Lambda<R extends Tensor | Tensor[] = Tensor> extends Module {
  static override readonly className = 'Lambda';
  /** The wrapped function. */
  readonly fn: LambdaFunction<R>;

  /** Make `fn` loadable from architecture files under `name`. */
  static register(name: string, fn: LambdaFunction): void {
    if (typeof name !== 'string' || name.length === 0) throw new ValueError('Lambda.register: name must be a non-empty string');
    if (typeof fn !== 'function') throw new ValueError(`Lambda.register: expected a function for '${name}', got ${typeof fn}`);
    lambdaFunctions.set(name, fn);
  }

  /** Names of the registered functions. */
  static registered(): string[] {
    return [...lambdaFunctions.keys()].sort();
  }

  /**
   * A function, or the name of a registered one. The result type R is
   * inferred from a function; for a registered name it defaults to one
   * Tensor (write `new Lambda<Tensor[]>('split')` for several outputs).
   */
  constructor(fn: LambdaFunction<R> | string, options: { name?: string } = {}) {
    super();
    if (typeof fn === 'string') {
      const found = lambdaFunctions.get(fn);
      if (!found) {
        throw new ValueError(
          `Lambda: no function registered as '${fn}'${lambdaFunctions.size ? ` (registered: ${Lambda.registered().join(', ')})` : ''}; call Lambda.register('${fn}', fn) first`,
        );
      }
      this.fn = found as LambdaFunction<R>;
    } else if (typeof fn === 'function') this.fn = fn;
    else throw new ValueError(`Lambda: expected a function or the name of a registered function, got ${typeof fn}`);
    if (options.name !== undefined) this.withName(options.name);
  }

  /** The registered name of this layer's function, if it has one. */
  get functionName(): string | undefined {
    for (const [name, f] of lambdaFunctions) if (f === (this.fn as LambdaFunction)) return name;
    return undefined;
  }

  forward(...inputs: Tensor[]): R {
    return this.fn(...inputs);
  }

  override getConfig(): LayerConfig {
    const functionName = this.functionName;
    if (functionName === undefined) {
      throw new SerializationError(
        `${this.label}: its function is not registered, so it cannot be saved; register it with Lambda.register('someName', fn) and build the layer with new Lambda('someName')`,
      );
    }
    return { functionName };
  }

  override extraRepr(): string {
    return this.functionName ?? (this.fn.name || 'anonymous function');
  }
}

registerLayer(Lambda.className, (c) => new Lambda(c.functionName as string));
