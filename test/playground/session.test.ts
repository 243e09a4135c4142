// The training session as the worker runs it: requests in, replies out.
// Export and import through safetensors (the spec in the file's metadata),
// and a bad file that leaves the current model as it was.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Reply, type Request, Session } from '../../playground/src/session.js';
import { parseHash } from '../../playground/src/spec.js';

const skip = process.env.NEURITE_BACKEND === 'native' ? 'the playground uses the browser entry (wasm or ref)' : false;

/** A session and a way to ask it something and wait for the answer. */
function open() {
  const replies: Reply[] = [];
  const session = new Session((r) => replies.push(r));
  let id = 1;
  const ask = async <T>(req: Request & { id: number }): Promise<T> => {
    await session.handle(req);
    const done = replies.filter((r) => r.type === 'done' && r.id === req.id).at(-1);
    if (done?.type !== 'done') throw new Error('no answer');
    if (done.error !== undefined) throw new Error(done.error);
    return done.value as T;
  };
  return { session, replies, ask, next: () => id++ };
}

describe('playground session', { skip }, () => {
  it('a safetensors export rebuilds the same network in a fresh session; a bad file keeps the current model', async () => {
    const a = open();
    await a.session.handle({
      type: 'init',
      spec: parseHash('#mode=default&dataset=moons&seed=0.8&initSeed=5&networkShape=6,3&optimizer=rmsprop&alpha=0.95').spec,
    });
    await a.ask({ type: 'step', epochs: 20, id: a.next() });
    const bytes = await a.ask<Uint8Array>({ type: 'exportSafetensors', id: a.next() });
    // safetensors: an 8-byte little-endian header length, then a JSON header.
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown> & {
      __metadata__: Record<string, string>;
    };
    assert.equal(header.__metadata__.format, 'neurite-playground');
    assert.equal(JSON.parse(header.__metadata__.spec).networkShape.join(','), '6,3');
    assert.ok('0.weight' in header, `tensor names: ${Object.keys(header).join(', ')}`);
    const want = await a.ask<number>({ type: 'outputAt', x: 1.5, y: -2, id: a.next() });
    const hash = await a.ask<string>({ type: 'hash', id: a.next() });

    const b = open();
    await b.session.handle({ type: 'init', spec: parseHash('#mode=default&dataset=circle&seed=0.1&initSeed=1').spec });
    assert.equal(await b.ask({ type: 'importSafetensors', bytes, id: b.next() }), true);
    assert.equal(await b.ask<number>({ type: 'outputAt', x: 1.5, y: -2, id: b.next() }), want);
    assert.equal(await b.ask<string>({ type: 'hash', id: b.next() }), hash);
    const spec = b.replies.filter((r) => r.type === 'spec').at(-1);
    assert.ok(spec?.type === 'spec' && spec.spec.dataset === 'moons' && spec.spec.alpha === 0.95);

    // A file that is not safetensors, and one whose weights do not fit its spec: errors, and b keeps its model.
    await assert.rejects(b.ask({ type: 'importSafetensors', bytes: new Uint8Array([1, 2, 3]), id: b.next() }));
    const bad = Uint8Array.from(bytes);
    const text = new TextDecoder()
      .decode(bad.subarray(8, 8 + headerLength))
      .replace('\\"6,3\\"', '\\"6,4\\"')
      .replace('[6,3]', '[6,4]');
    assert.equal(text.length, headerLength);
    bad.set(new TextEncoder().encode(text), 8);
    await assert.rejects(b.ask({ type: 'importSafetensors', bytes: bad, id: b.next() }), /4/);
    assert.equal(await b.ask<string>({ type: 'hash', id: b.next() }), hash, 'the model is the one imported before');
    await assert.rejects(b.ask({ type: 'import', text: '{"format":"neurite-playground","spec":{"networkShape":"x"},"weights":{}}', id: b.next() }));
    assert.equal(await b.ask<string>({ type: 'hash', id: b.next() }), hash);
  });
});
