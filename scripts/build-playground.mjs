// Builds the playground (playground/) into dist/playground-site/, a static site any
// static host can serve: index.html, styles, the page's bundle and the
// training worker's bundle (which carries neurite). `neurite playground`
// serves it; `npm run build` and `npm run build:playground` make it.
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
copyFileSync(join(src, 'styles.css'), join(out, 'styles.css'));
copyFileSync(join(root, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), join(out, 'uplot.min.css'));
