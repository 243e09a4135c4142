// The preprocessing torchvision's ImageNet weights expect: resize the shorter
// side to 256, crop the central 224×224, scale to [0, 1] (the caller's
// images already are) and normalise each channel with ImageNet's statistics.
import type { Tensor } from '../core/tensor.js';
import { centerCrop, normalizeImages, resizeImages } from '../data/index.js';

/** The input pipeline pretrained weights expect. */
export interface Preprocessing {
  /** The shorter side after resizing. */
  resize: number;
  /** The side of the central square crop. */
  crop: number;
  /** Per-channel mean subtracted (R, G, B). */
  mean: readonly [number, number, number];
  /** Per-channel standard deviation divided by. */
  std: readonly [number, number, number];
}

/** torchvision's ImageNet preprocessing (the same for every builder here; GoogLeNet's weights included, with transform_input off). */
export const IMAGENET: Preprocessing = { resize: 256, crop: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** Images [N, 3, H, W] (or [3, H, W]) with values in [0, 1] → what the pretrained networks take. */
export function preprocess(images: Tensor, p: Preprocessing = IMAGENET): Tensor {
  return normalizeImages(centerCrop(resizeImages(images, p.resize), p.crop), p.mean, p.std);
}
