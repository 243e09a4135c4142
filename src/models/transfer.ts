// Transfer learning as seed 004 teaches it: keep a trained network's
// features, give it a new classifier for the new task, and freeze as much of
// the rest as the amount of new data calls for.
//
//   new data   similar to the old task    different from it
//   small      freeze all, train the head  freeze all, train the head (or a linear model on earlier features)
//   medium     freeze most                 freeze the early stages
//   large      fine-tune all               fine-tune all

import type { FloatDType } from '../core/dtype.js';
import { ValueError } from '../core/errors.js';
import * as nn from '../nn/index.js';
import { loadInto, type WeightsSource } from './common.js';
import { InceptionAux } from './googlenet.js';

/** How much of the backbone to freeze: every layer but the head, the earlier stages, or nothing. */
export type FreezePolicy = 'all' | 'most' | 'none';

/** Options of {@link prepareTransfer}. */
export interface TransferOptions {
  /** Classes of the new task: the head is replaced by a fresh Linear layer of this size. */
  numClasses: number;
  /** What to freeze of the rest (default 'all'). */
  freeze?: FreezePolicy;
  /** The new head's dtype (default: the old head's). */
  dtype?: FloatDType;
}

/** The head of each builder's network: the attribute path of its last Linear layer. */
function headOf(model: nn.Module): { owner: nn.Module; key: string; layer: nn.Linear } {
  const linears = [...model.namedModules()].filter(([, m]) => m instanceof nn.Linear) as [string, nn.Linear][];
  const last = linears.at(-1);
  if (!last) throw new ValueError(`transfer: ${model.className} has no Linear layer to replace`);
  const [path, layer] = last;
  const dot = path.lastIndexOf('.');
  const ownerPath = dot < 0 ? '' : path.slice(0, dot);
  const owner = [...model.namedModules()].find(([n]) => n === ownerPath)?.[1] as nn.Module;
  return { owner, key: dot < 0 ? path : path.slice(dot + 1), layer };
}

function checkPolicy(freeze: string): asserts freeze is FreezePolicy {
  if (!['all', 'most', 'none'].includes(freeze)) throw new ValueError(`transfer: freeze must be 'all', 'most' or 'none', got '${freeze}'`);
}

/**
 * Freeze the backbone of a network by `freeze`, leaving its head (the last
 * Linear layer, and GoogLeNet's auxiliary heads) trainable: 'all' trains only
 * the head; 'most' also trains the last quarter of the layers that hold
 * parameters (the most task-specific features) and freezes the first three
 * quarters; 'none' trains everything. Everything else is unfrozen first, so
 * calling it again with another policy changes the policy.
 */
export function freezeBackbone(model: nn.Module, freeze: FreezePolicy): void {
  checkPolicy(freeze);
  const { layer } = headOf(model);
  const heads = new Set<nn.Module>([layer, ...auxHeads(model)]);
  const inHead = new Set([...heads].flatMap((h) => h.modules()));
  model.unfreeze();
  // The layers that own parameters, in order, without the heads.
  const owners = model.modules().filter((m) => !inHead.has(m) && [...m.ownParameters()].length > 0);
  const frozen = freeze === 'all' ? owners.length : freeze === 'most' ? Math.ceil((owners.length * 3) / 4) : 0;
  for (const m of owners.slice(0, frozen)) for (const [, p] of m.ownParameters()) p.requiresGrad = false;
}

/** GoogLeNet's auxiliary classifiers, which a new task needs new outputs in as well. */
function auxHeads(model: nn.Module): InceptionAux[] {
  return model.modules().filter((m): m is InceptionAux => m instanceof InceptionAux);
}

/**
 * Replace the classifier head (the last Linear layer; GoogLeNet's auxiliary
 * heads' last layers too) with a new one for `numClasses`, and freeze the
 * rest by `freeze` (see {@link freezeBackbone}). Returns the new head; the
 * model is changed in place, and its saved configuration follows the new
 * number of classes.
 */
export function prepareTransfer(model: nn.Module, options: TransferOptions): nn.Linear {
  const { owner, key, layer } = headOf(model);
  const freeze = options.freeze ?? 'all';
  checkPolicy(freeze);
  if (!(Number.isInteger(options.numClasses) && options.numClasses >= 1))
    throw new ValueError(`transfer: numClasses must be a positive whole number, got ${options.numClasses}`);
  const dtype = options.dtype ?? (layer.weight.dtype as FloatDType);
  const head = new nn.Linear(layer.inFeatures, options.numClasses, { dtype });
  (owner as unknown as Record<string, nn.Module>)[key] = head;
  for (const aux of auxHeads(model)) {
    (aux as unknown as Record<string, nn.Module>).fc2 = new nn.Linear(aux.fc2.inFeatures, options.numClasses, { dtype });
  }
  freezeBackbone(model, freeze);
  return head;
}

/**
 * Load pretrained weights into a network built for a new task: every tensor
 * must be in the file under its name and shape (a typed error names the
 * missing, unexpected and misshapen ones), except the head's (the last Linear
 * layer and GoogLeNet's auxiliary heads' last layers), which keep their fresh
 * values when the file's head was trained for another number of classes (and
 * are loaded like the rest when it has the same number).
 */
export async function loadBackbone<M extends nn.Module>(model: M, weights: WeightsSource): Promise<M> {
  const paths = new Map<nn.Module, string>();
  for (const [path, m] of model.namedModules()) paths.set(m, path);
  const heads = [headOf(model).layer, ...auxHeads(model).map((a) => a.fc2)];
  const headKeys = heads.flatMap((h) => [...h.ownParameters()].map(([key]) => (paths.get(h) ? `${paths.get(h)}.${key}` : key)));
  return loadInto(model, weights, headKeys);
}
