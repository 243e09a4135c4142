// `neurite train --backend webgpu`: the training steps replayed on the GPU
// (SwiftShader's Vulkan driver without one), against the same run on the CPU.
// Serial: SwiftShader takes every core. Skips, with one line saying how to
// enable it, where Dawn or a Vulkan driver is missing.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as nt from '../../src/index.js';
import { start, tempDir } from './run.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const icd = process.env.VK_ICD_FILENAMES ?? (existsSync(SWIFTSHADER_ICD) ? SWIFTSHADER_ICD : undefined);
if (icd !== undefined) process.env.VK_ICD_FILENAMES = icd;

// Both runs name their backends (--backend native, --backend webgpu), whatever NEURITE_BACKEND says: once is enough.
const otherPass = process.env.NEURITE_BACKEND !== undefined && process.env.NEURITE_BACKEND !== 'ref';
let why = '';
if (!otherPass) {
  try {
    (await nt.openWebGpu({ allowFallback: true })).destroy();
  } catch (e) {
    why = (e as Error).message;
  }
}
const skip = otherPass
  ? 'the command-line WebGPU test runs in the ref pass (it names its backends)'
  : why !== ''
    ? `WebGPU tests need Dawn (npm's webgpu package), libvulkan1 and a Vulkan driver (SwiftShader's ships in Debian's chromium): "apt-get install chromium libvulkan1" (.ci/run does) to run them; here: ${why}`
    : false;

const { dir, cleanup } = tempDir('train-webgpu');
after(cleanup);

/** The numbers of history.csv, row by row. */
function historyNumbers(run: string): number[] {
  const lines = readFileSync(join(dir, run, 'history.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  return lines.flatMap((line) => line.split(',').map(Number));
}

describe('neurite train --backend webgpu', { skip }, () => {
  const flags = ['lenet5', '--limit', '320', '--test-limit', '100', '--epochs', '2', '--json'];

  test("trains LeNet-5 with its steps on the GPU to the CPU run's history and test accuracy (within 1e-4)", async () => {
    const cpu = await start(['train', ...flags, '--backend', 'native', '--out', 'cpu'], dir).result;
    assert.equal(cpu.code, 0, cpu.stderr);
    const gpu = await start(['train', ...flags, '--backend', 'webgpu', '--out', 'gpu'], dir, {
      env: { NEURITE_WEBGPU_ALLOW_FALLBACK: '1', VK_ICD_FILENAMES: icd ?? '' },
    }).result;
    assert.equal(gpu.code, 0, gpu.stderr);
    assert.doesNotMatch(gpu.stdout + gpu.stderr, /runs eagerly/);
    const got = historyNumbers('gpu');
    const want = historyNumbers('cpu');
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++)
      assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 * Math.max(1, Math.abs(want[i])), `history value ${i}: ${got[i]} against ${want[i]}`);
    const results = (run: string) => JSON.parse(readFileSync(join(dir, run, 'results.json'), 'utf8'));
    assert.equal(results('gpu').backend, 'webgpu');
    assert.equal(results('gpu').testAccuracy, results('cpu').testAccuracy);
    assert.ok(Math.abs(results('gpu').testLoss - results('cpu').testLoss) < 1e-4);
  });

  test('a software adapter is refused unless NEURITE_WEBGPU_ALLOW_FALLBACK=1: exit 2, a hint, nothing written', async () => {
    const r = await start(['train', ...flags, '--backend', 'webgpu', '--out', 'refused'], dir, {
      env: { NEURITE_WEBGPU_ALLOW_FALLBACK: '', VK_ICD_FILENAMES: icd ?? '' },
    }).result;
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--backend webgpu: openWebGpu: .*fallback/i);
    assert.match(r.stderr, /NEURITE_WEBGPU_ALLOW_FALLBACK=1/);
    assert.equal(existsSync(join(dir, 'refused')), false);
  });
});
