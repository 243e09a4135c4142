// `neurite playground`: serve the playground web app on 127.0.0.1 and print its URL.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectPositionals, type FlagSpec, intFlag, parseFlags } from '../args.js';
import { EXIT, UsageError } from '../errors.js';

export const PLAYGROUND_HELP = `Usage: neurite playground [--port N] [--open]

Serves the neurite playground (a TensorFlow-Playground-style web app that trains
with neurite in a Web Worker) on 127.0.0.1 and prints the URL. Ctrl-C stops it.
The static site is dist/playground-site/ in the package; in a checkout it is
built first if missing (npm run build:playground builds it for any static host).

Options:
  --port N     the port (default 8420; a free one is taken if it is busy)
  --open       open the URL in the default browser
  -h, --help   show this help`;

const FLAGS: FlagSpec = { port: { type: 'string' }, open: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } };

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** The package root (three floors above dist/src/cli/commands/). */
function packageRoot(): string {
  return resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..');
}

/** The built site, building it first in a checkout that has the build script and esbuild. */
export function playgroundSite(): string {
  const root = packageRoot();
  const site = join(root, 'dist', 'playground-site');
  if (existsSync(join(site, 'index.html'))) return site;
  const script = join(root, 'scripts', 'build-playground.mjs');
  if (existsSync(script)) {
    process.stdout.write('building the playground (dist/playground-site)...\n');
    const r = spawnSync(process.execPath, [script], { cwd: root, stdio: 'inherit' });
    if (r.status === 0 && existsSync(join(site, 'index.html'))) return site;
  }
  throw new UsageError(`the playground is not built (no ${join(site, 'index.html')}); run "npm run build:playground" in the neurite checkout`);
}

/**
 * A static server for `site` on 127.0.0.1. Pages are cross-origin isolated
 * (COOP/COEP), so the wasm backend may share memory with its threads.
 */
export function servePlayground(site: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(site, path));
    if (!(file === site || file.startsWith(site + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-cache',
    });
    res.end(readFileSync(file));
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', fail);
      ok(server);
    });
  });
}

function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '', url] : [url];
  const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
  child.on('error', () => process.stderr.write(`could not open a browser (${cmd}); open ${url} yourself\n`));
  child.unref();
}

export async function playgroundCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('playground', args, FLAGS);
  if (values.help) {
    process.stdout.write(`${PLAYGROUND_HELP}\n`);
    return EXIT.ok;
  }
  expectPositionals('playground', positionals, []);
  const wanted = intFlag(values, 'port', 0) ?? 8420;
  if (wanted > 65535) throw new UsageError(`playground: --port must be at most 65535, got ${wanted}`);
  const site = playgroundSite();
  let server: Server;
  try {
    server = await servePlayground(site, wanted);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || values.port !== undefined) throw e;
    server = await servePlayground(site, 0);
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : wanted;
  const url = `http://127.0.0.1:${port}/`;
  process.stdout.write(`neurite playground: ${url}  (Ctrl-C stops it)\n`);
  if (values.open) openBrowser(url);
  await new Promise<void>((done) => {
    const stop = () => {
      server.close();
      done();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return EXIT.ok;
}
