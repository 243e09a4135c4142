// Run B of an A/B comparison: a second training session (its own worker, so
// the two runs train side by side) on run A's data with its own settings.
// The page mirrors Play, Step and Reset to it and overlays its curves.
import { type Client, createClient, newId } from './client.js';
import type { EpochRecord, Snapshot } from './engine.js';
import type { Reply } from './session.js';
import type { Spec } from './spec.js';

export class CompareRun {
  readonly client: Client;
  spec: Spec;
  frame: Snapshot | null = null;
  history: EpochRecord[] = [];
  rate = 0;
  trainSeconds = 0;
  private run = -1;
  private inFlight = false;
  private waiters: (() => void)[] = [];

  constructor(
    spec: Spec,
    workerUrl: string,
    preferWorker: boolean,
    private readonly onFrame: () => void,
    onMessage: (text: string, level: 'info' | 'error') => void,
  ) {
    this.spec = spec;
    this.client = createClient(workerUrl, preferWorker);
    this.client.onReply = (reply: Reply) => {
      if (reply.type === 'message') onMessage(`Run B: ${reply.text}`, reply.level);
      if (reply.type !== 'frame') return;
      this.inFlight = false;
      const s = reply.snapshot;
      if (reply.run !== this.run || s.historyFrom === 0) this.history = s.history;
      else this.history.push(...s.history);
      this.run = reply.run;
      this.frame = s;
      this.rate = reply.epochsPerSecond;
      this.trainSeconds = reply.trainSeconds;
      this.onFrame();
      const w = this.waiters;
      this.waiters = [];
      for (const ok of w) ok();
    };
    this.client.send({ type: 'init', spec });
  }

  /** A new spec for B: the session decides whether that means a new network. */
  setSpec(spec: Spec): void {
    this.spec = spec;
    this.client.send({ type: 'spec', spec });
  }

  requestFrame(): void {
    if (this.inFlight) return;
    this.inFlight = true;
    this.client.send({ type: 'frame', selected: null, run: this.run, since: this.history.length });
  }

  fetchFrame(): Promise<void> {
    return new Promise((ok) => {
      this.waiters.push(ok);
      this.inFlight = false;
      this.requestFrame();
    });
  }

  play(): void {
    this.client.send({ type: 'play' });
  }
  pause(): void {
    this.client.send({ type: 'pause' });
  }
  reset(): void {
    this.history = [];
    this.client.send({ type: 'reset' });
  }
  speed(epochsPerSecond: number): void {
    this.client.send({ type: 'speed', epochsPerSecond });
  }
  async step(epochs: number): Promise<number> {
    const e = await this.client.call<number>({ type: 'step', epochs, id: newId() });
    await this.fetchFrame();
    return e;
  }
  weightsHash(): Promise<string> {
    return this.client.call<string>({ type: 'hash', id: newId() });
  }
  close(): void {
    this.client.close();
  }
}
