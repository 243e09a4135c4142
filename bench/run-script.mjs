// Node-only helper of the bench scripts that spawn measurements (fusion,
// threads, distributed, buckets). It is kept out of bench/common.mjs because
// that file is also bundled into the page of bench/browser.mjs, where
// node:child_process does not exist.
import { spawn } from 'node:child_process';

/**
 * Run a script in a fresh Node process and resolve with the JSON object on
 * the last line of its stdout, or null when there is none (its stderr passes
 * through). `env` is added to this process's environment.
 */
export function runScript(script, args, { env = {}, nodeFlags = [], cwd } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeFlags, script, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('close', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        resolve(null);
      }
    });
  });
}
