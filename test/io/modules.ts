// Small registered modules for the io tests, independent of the built-in layers.
import { nn, randn, type Tensor } from '../../src/index.js';

type LayerConfig = nn.LayerConfig;
const { Module, Parameter, getLayerFactory } = nn;
type Module = nn.Module;

/** y = scale * (x * w + b), element-wise over the last dimension. */
export class ScaledAffine extends Module {
  static override readonly className = 'test.ScaledAffine';
  readonly size: number;
  readonly scale: number;
  weight: nn.Parameter;
  bias: nn.Parameter;

  constructor(size: number, scale = 1) {
    super();
    this.size = size;
    this.scale = scale;
    this.weight = new Parameter(randn([size]));
    this.bias = new Parameter(randn([size]));
    this.registerBuffer('calls', randn([1]));
  }

  forward(x: Tensor): Tensor {
    return x.mul(this.weight).add(this.bias).mul(this.scale);
  }

  override getConfig(): LayerConfig {
    return { size: this.size, scale: this.scale };
  }
}

/** A container whose config nests its children as {className, config}, as Sequential does. */
export class Stack extends Module {
  static override readonly className = 'test.Stack';
  layers: Module[];

  constructor(layers: Module[]) {
    super();
    this.layers = layers;
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, layer) => layer.forward(h), x);
  }

  override getConfig(): LayerConfig {
    return { layers: this.layers.map((l) => ({ className: l.className, config: l.getConfig() })) };
  }
}

nn.registerLayer(ScaledAffine.className, (c) => new ScaledAffine(c.size as number, c.scale as number));
nn.registerLayer(
  Stack.className,
  (c) => new Stack((c.layers as { className: string; config: LayerConfig }[]).map((spec) => getLayerFactory(spec.className)(spec.config))),
);

/** Every tensor of the model's state dict, copied. */
export function snapshot(model: Module): Map<string, Float32Array | Float64Array | Int32Array | Uint8Array> {
  return new Map([...model.stateDict()].map(([k, t]) => [k, t.data.slice()]));
}
