// <neurite-playground>: the playground as an element for any page. Its
// attributes are the URL keys (dataset="xor" networkShape="4,2"
// learningRate="0.1" ...), read case-insensitively; changing one updates the
// embedded playground as its URL would.
//
// The app lives in an iframe inside the element's shadow root. The app uses
// page-wide element ids, keyboard shortcuts and its own worker; its own
// document keeps two playgrounds on one page, and the host page's CSS, from
// colliding. Both come from the same site, so `element.api` reaches the app's
// test hook (spec, step, losses...) directly.
import { FEATURES } from './spec.js';

// Every key the playground's URL knows, so an attribute's lower-cased name maps back to it.
const KEYS = [
  'mode',
  'activation',
  'regularization',
  'batchSize',
  'dataset',
  'regDataset',
  'curveDataset',
  'boundary',
  'custom',
  'learningRate',
  'regularizationRate',
  'noise',
  'networkShape',
  'seed',
  'initSeed',
  'showTestData',
  'discretize',
  'percTrainData',
  ...FEATURES,
  'problem',
  'classes',
  'loss',
  'optimizer',
  'momentum',
  'beta1',
  'beta2',
  'init',
  'schedule',
  'layerActivations',
  'dropout',
  'batchNorm',
  'patience',
  'stopAt',
  'epoch',
  'diagram',
  'b',
  'hideText',
];
const BY_LOWER = new Map(KEYS.map((k) => [k.toLowerCase(), k]));
/** Attributes that shape the element, not the experiment. */
const OWN = new Set(['src', 'width', 'height', 'style', 'class', 'id', 'title', 'hide']);

/** The URL hash for an element's attributes (default mode unless mode="compat"). */
export function hashOfAttributes(attrs: Iterable<{ name: string; value: string }>): string {
  const parts: string[] = [];
  let mode = 'default';
  for (const { name, value } of attrs) {
    const lower = name.toLowerCase();
    if (OWN.has(lower)) continue;
    if (lower === 'mode') {
      mode = value;
      continue;
    }
    const key = BY_LOWER.get(lower) ?? name;
    parts.push(`${key}=${encodeURIComponent(value)}`);
  }
  // hide="learningRate noise": the classroom form of the original's <control>_hide keys.
  for (const attr of attrs) if (attr.name.toLowerCase() === 'hide') for (const h of attr.value.split(/\s+/).filter(Boolean)) parts.push(`${h}_hide=true`);
  return [`mode=${encodeURIComponent(mode)}`, ...parts].join('&');
}

export class NeuritePlayground extends HTMLElement {
  private frame: HTMLIFrameElement;
  private pending = 0;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = ':host { display: block; width: 100%; height: 900px; } iframe { border: 0; width: 100%; height: 100%; display: block; }';
    this.frame = document.createElement('iframe');
    this.frame.title = 'neurite playground';
    root.append(style, this.frame);
    // Attribute changes arrive one by one; the hash is written once they settle.
    new MutationObserver(() => this.scheduleSync()).observe(this, { attributes: true });
  }

  connectedCallback(): void {
    this.sync(true);
  }

  /** The embedded app's hook (spec(), step(n), losses(), ...) once it has loaded, else null. */
  get api(): unknown {
    return (this.frame.contentWindow as (Window & { __pg?: unknown }) | null)?.__pg ?? null;
  }

  /** The iframe, for pages that want to style or size it. */
  get iframe(): HTMLIFrameElement {
    return this.frame;
  }

  private appUrl(): URL {
    return new URL(this.getAttribute('src') ?? './index.html', import.meta.url);
  }

  private scheduleSync(): void {
    cancelAnimationFrame(this.pending);
    this.pending = requestAnimationFrame(() => this.sync(false));
  }

  private sync(load: boolean): void {
    const w = this.getAttribute('width');
    const h = this.getAttribute('height');
    if (w) this.style.width = /^\d+$/.test(w) ? `${w}px` : w;
    if (h) this.style.height = /^\d+$/.test(h) ? `${h}px` : h;
    const hash = hashOfAttributes(Array.from(this.attributes));
    const url = this.appUrl();
    url.hash = hash;
    const win = this.frame.contentWindow;
    if (load || !win || win.location.href === 'about:blank') this.frame.src = url.href;
    // A new hash is what the app's Back/Forward handling reads: it applies it without a reload.
    else win.location.hash = hash;
  }
}

if (!customElements.get('neurite-playground')) customElements.define('neurite-playground', NeuritePlayground);
