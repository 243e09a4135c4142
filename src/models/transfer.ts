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

/**
 * Replace the classifier head (the last Linear layer) with a new one for
 * `numClasses`, and freeze the rest by `freeze`: 'all' trains only the head;
 * 'most' also trains the last quarter of the layers that hold parameters (the
 * most task-specific features) and freezes the first three quarters; 'none'
 * trains everything. Returns the new head; the model is changed in place.
 */
export function prepareTransfer(model: nn.Module, options: TransferOptions): nn.Linear {
  const { owner, key, layer } = headOf(model);
  const freeze = options.freeze ?? 'all';
  if (!['all', 'most', 'none'].includes(freeze)) throw new ValueError(`transfer: freeze must be 'all', 'most' or 'none', got '${freeze}'`);
  if (!(Number.isInteger(options.numClasses) && options.numClasses >= 1))
    throw new ValueError(`transfer: numClasses must be a positive whole number, got ${options.numClasses}`);
  const head = new nn.Linear(layer.inFeatures, options.numClasses, { dtype: options.dtype ?? (layer.weight.dtype as FloatDType) });
  model.unfreeze();
  // The layers that own parameters, in order, without the old head.
  const owners = model.modules().filter((m) => m !== layer && [...m.ownParameters()].length > 0);
  const frozen = freeze === 'all' ? owners.length : freeze === 'most' ? Math.ceil((owners.length * 3) / 4) : 0;
  for (const m of owners.slice(0, frozen)) for (const [, p] of m.ownParameters()) p.requiresGrad = false;
  (owner as unknown as Record<string, nn.Module>)[key] = head;
  return head;
}
