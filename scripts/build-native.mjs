#!/usr/bin/env node
// Builds the optional native compute addon (build/Release/neurite_native.node)
// with node-gyp.  Runs as the package's "install" script.
//
// Installation must never fail because of the addon: on ANY problem (no C++
// compiler, no Node headers, no node-gyp, NEURITE_SKIP_NATIVE=1, ...) this
// prints a single line and exits 0; neurite then uses its pure-TypeScript
// reference backend.  Set NEURITE_NATIVE_VERBOSE=1 to see the compiler output.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const verbose = process.env.NEURITE_NATIVE_VERBOSE === '1';

function unavailable(reason) {
  console.log(`neurite: native backend unavailable (${reason}); neurite will use the pure-TypeScript reference backend.`);
  process.exit(0);
}

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  // npm's bundled copy, next to the npm that is running us or next to node.
  if (process.env.npm_execpath) {
    candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  const prefix = resolve(dirname(process.execPath), '..');
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((p) => p && existsSync(p)) ?? null;
}

// Local headers, so node-gyp never tries to download them.
function findNodeDir() {
  const candidates = [];
  if (process.env.npm_config_nodedir) candidates.push(process.env.npm_config_nodedir);
  candidates.push(resolve(dirname(process.execPath), '..'));
  candidates.push('/usr', '/usr/local');
  return candidates.find((d) => d && existsSync(join(d, 'include', 'node', 'node_api.h'))) ?? null;
}

function main() {
  const skip = process.env.NEURITE_SKIP_NATIVE;
  if (skip && skip !== '0' && skip.toLowerCase() !== 'false') unavailable('NEURITE_SKIP_NATIVE is set');
  if (!existsSync(join(root, 'binding.gyp'))) unavailable('binding.gyp not found');
  // Resolved like binding.gyp does (node's lookup from the package root), so a
  // copy hoisted to a parent node_modules is found too.
  let addonApi = false;
  try {
    const pkg = createRequire(join(root, 'package.json')).resolve('node-addon-api/package.json');
    addonApi = existsSync(join(dirname(pkg), 'napi.h'));
  } catch {
    addonApi = false;
  }
  if (!addonApi) unavailable('node-addon-api is not installed');
  const gyp = findNodeGyp();
  if (!gyp) unavailable('node-gyp not found');
  const nodedir = findNodeDir();
  if (!nodedir) unavailable('Node.js headers (include/node/node_api.h) not found');

  const args = [gyp, 'rebuild', '--release', `--nodedir=${nodedir}`];
  const jobs = process.env.JOBS ?? 'max';
  args.push(`--jobs=${jobs}`);
  let res;
  try {
    res = spawnSync(process.execPath, args, {
      cwd: root,
      stdio: verbose ? 'inherit' : 'pipe',
      encoding: 'utf8',
      env: { ...process.env, npm_config_nodedir: nodedir },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    unavailable(`could not run node-gyp: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (res.error) unavailable(`could not run node-gyp: ${res.error.message}`);
  if (res.status !== 0) {
    const out = `${res.stdout ?? ''}\n${res.stderr ?? ''}`;
    let reason = `node-gyp exited with code ${res.status ?? res.signal}`;
    if (/not found|No such file|ENOENT/i.test(out) && /(g\+\+|c\+\+|cc|make|gcc|clang)\b/.test(out)) {
      reason = 'no C++ compiler/make found';
    } else if (/find Python|python/i.test(out) && /not found|could not/i.test(out)) {
      reason = 'Python (needed by node-gyp) not found';
    }
    unavailable(reason);
  }
  const built = join(root, 'build', 'Release', 'neurite_native.node');
  if (!existsSync(built)) unavailable('build finished but build/Release/neurite_native.node is missing');
  // Check that it actually loads on this machine (and report which ISA path).
  const check = spawnSync(
    process.execPath,
    ['-e', `const m = require(${JSON.stringify(built)}); const f = m.cpuFeatures(); console.log(f.isa + ' ' + f.maxThreads);`],
    { encoding: 'utf8' },
  );
  if (check.status !== 0) unavailable('the built addon failed to load');
  const [isa, threads] = check.stdout.trim().split(' ');
  console.log(`neurite: native backend built (${isa}, up to ${threads} threads).`);
  return { gyp, nodedir, jobs };
}

/**
 * The Gloo collectives (native/gloo/, `neurite launch --mode sync` across
 * processes and machines), built where Gloo's headers are found (Debian:
 * libgloo-dev). Optional like the addon: any problem is one line, and sync
 * mode then runs its replicas as threads of one process.
 */
function buildGloo({ gyp, nodedir, jobs }) {
  const say = (line) => console.log(`neurite: ${line}`);
  const includeDir = ['/usr/include', '/usr/local/include'].find((d) => existsSync(join(d, 'gloo', 'config.h')) && existsSync(join(d, 'hiredis', 'hiredis.h')));
  if (!includeDir) {
    say('Gloo not found (Debian: apt-get install libgloo-dev libhiredis-dev); launch --mode sync runs its replicas as threads of one process.');
    return;
  }
  const dir = join(root, 'native', 'gloo');
  const res = spawnSync(process.execPath, [gyp, 'rebuild', '--release', `--nodedir=${nodedir}`, `--jobs=${jobs}`], {
    cwd: dir,
    stdio: verbose ? 'inherit' : 'pipe',
    encoding: 'utf8',
    env: { ...process.env, npm_config_nodedir: nodedir },
    maxBuffer: 64 * 1024 * 1024,
  });
  const built = join(dir, 'build', 'Release', 'neurite_gloo.node');
  if (res.error || res.status !== 0 || !existsSync(built)) {
    say(`the Gloo collectives did not build (${res.error?.message ?? `node-gyp exited with code ${res.status}`}); launch --mode sync runs its replicas as threads of one process.`);
    return;
  }
  const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(built)}).GlooGroup`], { encoding: 'utf8' });
  if (check.status !== 0) {
    say('the Gloo collectives built but do not load; launch --mode sync runs its replicas as threads of one process.');
    return;
  }
  say('Gloo collectives built (launch --mode sync across processes and machines).');
}

let toolchain = null;
try {
  toolchain = main();
} catch (err) {
  unavailable(`unexpected error: ${err instanceof Error ? err.message : String(err)}`);
}
try {
  if (toolchain) buildGloo(toolchain);
} catch (err) {
  console.log(`neurite: the Gloo collectives did not build (${err instanceof Error ? err.message : String(err)}).`);
}
