// What every native-addon test file shares: the addon (or the reason it is
// missing), a test that skips without it, a seeded generator, and the ISA
// paths and thread counts to sweep. Tests that change the ISA or thread count
// get the defaults back when the file ends.
import { after, test } from 'node:test';
import { loadNativeAddon, type NativeAddon, type NativeIsa, nativeLoadError } from '../../src/backends/native/binding.js';

export const addon = loadNativeAddon();
const skipReason = `native addon not available: ${nativeLoadError() ?? 'unknown reason'}`;

export function nativeTest(name: string, fn: (a: NativeAddon) => void): void {
  test(name, (t) => {
    if (addon === null) {
      t.skip(skipReason);
      return;
    }
    fn(addon);
  });
}

after(() => {
  if (addon !== null) {
    addon.setIsa('auto');
    addon.setNumThreads(addon.cpuFeatures().maxThreads);
  }
});

/** A small seeded generator of uniforms in [0, 1) (mulberry32), independent of neurite's own. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The distinct kernel paths this CPU can run (the addon falls back when one is unsupported). */
export function isaPaths(a: NativeAddon): NativeIsa[] {
  const out: NativeIsa[] = [];
  for (const want of ['scalar', 'avx2', 'avx512'] as const) {
    const got = a.setIsa(want);
    if (!out.includes(got)) out.push(got);
  }
  a.setIsa('auto');
  return out;
}

export function threadCounts(a: NativeAddon): number[] {
  return a.cpuFeatures().maxThreads > 1 ? [1, 2] : [1];
}
