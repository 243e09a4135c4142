#!/usr/bin/env node
// The `neurite` command. The implementation is the compiled TypeScript in
// dist/src/cli/ (built by `npm install` through the package's prepare script,
// or by `npm run build`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('neurite: the compiled code is missing (dist/src/cli/main.js); run "npm run build" in the neurite folder first.\n');
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
// Exit explicitly: a native thread pool or a pending timer must not keep a finished command alive.
process.exitCode = code;
// Flush what is buffered, then exit; a stdout closed by its reader (EPIPE) has nothing left to flush.
if (process.stdout.destroyed || process.stdout.writableEnded) process.exit(code);
else process.stdout.write('', () => process.exit(code));
