// Builds the prebuilt browser bundles shipped in the package, from the
// compiled browser entry (dist/src/index.browser.js, so run tsc first):
//   dist/browser/neurite.esm.js   an ES module: import * as nt from '.../neurite.esm.js'
//   dist/browser/neurite.iife.js  a script-tag build defining the global `neurite`
// Both target ES2020, so they run where ES2022 class fields and top-level await do not.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const entry = join(root, 'dist', 'src', 'index.browser.js');
if (!existsSync(entry)) {
  console.error('build-browser: dist/src/index.browser.js is missing; run tsc first (npm run build does both)');
  process.exit(1);
}
const common = {
  entryPoints: [entry],
  bundle: true,
  minify: true,
  sourcemap: false,
  platform: 'browser',
  target: 'es2020',
  legalComments: 'none',
  logLevel: 'warning',
};
await build({ ...common, format: 'esm', outfile: join(root, 'dist', 'browser', 'neurite.esm.js') });
// A script has no import.meta: the one use (anomaly detection telling neurite's stack frames from the
// user's) checks for it and counts every frame as the user's, so esbuild's warning is silenced.
await build({
  ...common,
  format: 'iife',
  globalName: 'neurite',
  outfile: join(root, 'dist', 'browser', 'neurite.iife.js'),
  logOverride: { 'empty-import-meta': 'silent' },
});
