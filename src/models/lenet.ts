// LeNet-5 (LeCun et al., 1998) with ReLU and max pooling, layer for layer the
// `neurite train lenet5` preset, so a run's model.safetensors loads into it.
import * as nn from '../nn/index.js';
import { checkCount, layers, type ModelOptions } from './common.js';

/** LeNet-5 for 28×28 images (the first convolution pads by 2, as for MNIST); numClasses defaults to 10. */
export function lenet5(options: ModelOptions = {}): nn.Sequential {
  const classes = checkCount('LeNet-5', 'numClasses', options.numClasses, 10);
  const inChannels = checkCount('LeNet-5', 'inChannels', options.inChannels, 1);
  const L = layers(options.dtype);
  return new nn.Sequential(
    L.conv(inChannels, 6, 5, { padding: 2 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    L.conv(6, 16, 5),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    L.linear(400, 120),
    new nn.ReLU(),
    L.linear(120, 84),
    new nn.ReLU(),
    L.linear(84, classes),
  );
}
