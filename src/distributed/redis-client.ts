// The one place that makes ioredis clients. It sits in a module of its own,
// and no exported declaration names ioredis's types, so the package's
// declarations type-check in a strict project that does not skip libraries
// (ioredis's own declarations import an untyped package).
import { Redis } from 'ioredis';
import { ValueError } from '../core/errors.js';
import { DistributedError } from './errors.js';

/** Connect, or say plainly that Redis cannot be reached at this URL, within the timeout. */
export async function connectRedis(url: string, timeoutMs: number, who: string): Promise<Redis> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValueError(`${who}: '${url}' is not a Redis URL (redis://host:port)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new ValueError(`${who}: '${url}' is not a Redis URL (redis://host:port)`);
  // A Redis that is restarting (or not up yet) is waited for, for up to 5 s or the timeout: a server shard the launcher
  // restarts during a Redis restart must not die of it. An address where nothing ever answers still fails within seconds.
  const deadline = performance.now() + Math.min(timeoutMs, 5000);
  for (;;) {
    const client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: Math.min(timeoutMs, 5000),
      // Reconnect after a Redis restart for up to the timeout; commands wait for the connection meanwhile.
      retryStrategy: (times) => (times * 100 > timeoutMs ? null : 100),
      maxRetriesPerRequest: null,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      return client;
    } catch (e) {
      client.disconnect();
      if (performance.now() >= deadline) throw new DistributedError(`${who}: cannot reach Redis at ${url}: ${(e as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
