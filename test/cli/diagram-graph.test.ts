// The diagram of a functional graph model draws its branches: a residual
// block's shortcut is an edge of its own, and parallel branches sit side by side.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diagramSvg } from '../../src/cli/diagram.js';
import { nn } from '../../src/index.js';

test('a residual block with two parallel branches is drawn as a graph', () => {
  const x = nn.input([8], { name: 'x' });
  const h = new nn.Linear(8, 8).withName('fc1').call(x);
  const a = new nn.Linear(8, 8).withName('branchA').call(h);
  const b = new nn.Linear(8, 8).withName('branchB').call(h);
  const sum = new nn.Add().withName('merge').call(a, b, h); // h is the shortcut
  const y = new nn.Linear(8, 2).withName('head').call(sum);
  const model = new nn.Model({ inputs: [x], outputs: [y] });
  const { svg } = diagramSvg(model, [8], 'residual');
  // Edges: x→fc1, fc1→branchA, fc1→branchB, branchA→merge, branchB→merge, fc1→merge (the shortcut), merge→head.
  assert.equal([...svg.matchAll(/class="edge"/g)].length, 7);
  const boxAt = (label: string) => {
    const m = new RegExp(`<rect x="([\\d.]+)" y="(\\d+)"[^>]*/>\\n<text[^>]*>${label} \\(`).exec(svg);
    assert.ok(m, `box ${label}`);
    return { x: Number(m[1]), y: Number(m[2]) };
  };
  const [pa, pb, pm] = [boxAt('branchA'), boxAt('branchB'), boxAt('merge')];
  // The two branches are side by side on one row; the merge is below both.
  assert.equal(pa.y, pb.y);
  assert.notEqual(pa.x, pb.x);
  assert.ok(pm.y > pa.y);
});
