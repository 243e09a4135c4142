// The geometry of convolution and pooling is declared once, in
// src/kernels/geometry.ts; native/geometry.h is generated from it. This fails
// when someone edits one side without regenerating the other.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { CONV2D_GEOMETRY_FIELDS, POOL2D_GEOMETRY_FIELDS, packGeometry } from '../../src/kernels/geometry.js';

const root = resolve(import.meta.dirname, '..', '..', '..');

test('native/geometry.h is the one generated from src/kernels/geometry.ts', () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'gen-native-geometry.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('packGeometry lays the fields out in the declared order', () => {
  const conv = Object.fromEntries(CONV2D_GEOMETRY_FIELDS.map((f, i) => [f, i + 1])) as Record<(typeof CONV2D_GEOMETRY_FIELDS)[number], number>;
  assert.deepEqual(
    Array.from(packGeometry(CONV2D_GEOMETRY_FIELDS, conv)),
    CONV2D_GEOMETRY_FIELDS.map((_, i) => i + 1),
  );
  const pool = Object.fromEntries(POOL2D_GEOMETRY_FIELDS.map((f, i) => [f, 10 * i])) as Record<(typeof POOL2D_GEOMETRY_FIELDS)[number], number>;
  assert.deepEqual(
    Array.from(packGeometry(POOL2D_GEOMETRY_FIELDS, pool)),
    POOL2D_GEOMETRY_FIELDS.map((_, i) => 10 * i),
  );
});
