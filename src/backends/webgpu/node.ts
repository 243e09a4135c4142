/// <reference types="@webgpu/types" />

/*
 * WebGPU on Node through Dawn's binding, the npm package `webgpu`: an
 * optional peer dependency, loaded on first use so that neither a Node user
 * without it nor a browser bundle pays for it.
 */

/** Dawn's GPU object, or why it cannot be had. */
export async function nodeGpu(): Promise<GPU | string> {
  let dawn: { create(options: string[]): GPU };
  // Through a variable, so that bundlers leave the optional package to Node.
  const specifier = 'webgpu';
  try {
    dawn = (await import(specifier)) as typeof dawn;
  } catch (e) {
    return `the npm package 'webgpu' (Dawn's Node binding) could not be loaded (${(e as Error).message.split('\n')[0]}); install it with: npm install webgpu@0.6.2`;
  }
  return dawn.create([]);
}

/** The process's one Dawn instance: Dawn aborts the process when a second one is collected while the first is in use. */
let shared: Promise<GPU | string> | null = null;
export function sharedNodeGpu(): Promise<GPU | string> {
  shared ??= nodeGpu();
  return shared;
}
