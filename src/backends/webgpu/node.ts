/// <reference types="@webgpu/types" />

/*
 * WebGPU on Node through Dawn's binding, the npm package `webgpu`: an
 * optional peer dependency, loaded on first use so that neither a Node user
 * without it nor a browser bundle pays for it.
 */

/** Dawn's GPU object, or why it cannot be had. */
export async function nodeGpu(): Promise<GPU | string> {
  let dawn: { create(options: string[]): GPU };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (e) {
    return `the npm package 'webgpu' (Dawn's Node binding) could not be loaded (${(e as Error).message.split('\n')[0]}); install it with: npm install webgpu@0.6.2`;
  }
  return dawn.create([]);
}
