/**
 * Saving and loading models where there is no file system: in a browser's
 * IndexedDB (`indexeddb://name`), as downloads (`downloads://name`), from a
 * URL (`https://host/models/lenet/`, with model.json and model.safetensors in
 * that folder; also works on Node), or from files a user picked
 * (`<input type="file" multiple>`'s FileList). The files are the ones
 * saveModel writes on Node, and problems are SerializationErrors.
 *
 * Only structural types of the web APIs are used, so this module compiles
 * and loads anywhere; a scheme whose API is missing says so when used.
 */
import { SerializationError } from '../core/errors.js';

/** The file contents of a saved model, by file name (model.json, model.safetensors, ...). */
export type ModelFiles = Map<string, Uint8Array | string>;

/** A picked file, as an `<input type="file">` FileList holds them (a File or any blob with a name). */
export interface NamedBlob {
  /** The file name, which says which of the model's files it is. */
  readonly name: string;
  /** The file's bytes. */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** Where a model can be saved or loaded from besides a folder on Node. */
export type ModelSource = string | ArrayLike<NamedBlob>;

const SCHEMES = ['indexeddb://', 'downloads://'] as const;

/** True for the targets this module handles rather than the file system. */
export function isBrowserLocation(target: ModelSource): boolean {
  if (typeof target !== 'string') return true;
  return SCHEMES.some((s) => target.startsWith(s)) || /^https?:\/\//.test(target);
}

interface IdbRequest<T> {
  result: T;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
}
interface IdbStore {
  put(value: unknown, key: string): IdbRequest<unknown>;
  get(key: string): IdbRequest<unknown>;
}
interface IdbDatabase {
  objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): unknown;
  transaction(store: string, mode: 'readonly' | 'readwrite'): { objectStore(name: string): IdbStore };
  close(): void;
}
interface IdbFactory {
  open(name: string, version?: number): IdbOpenRequest;
}

const DB = 'neurite-models';
const STORE = 'models';

function requestResult<T>(request: IdbRequest<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new SerializationError(`${what}: IndexedDB failed (${String(request.error)})`));
  });
}

async function openDatabase(what: string): Promise<IdbDatabase> {
  const idb = (globalThis as { indexedDB?: IdbFactory }).indexedDB;
  if (!idb) throw new SerializationError(`${what}: indexeddb:// needs IndexedDB, which this environment does not have (it is a browser API)`);
  const request = idb.open(DB, 1);
  request.onupgradeneeded = () => {
    if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE);
  };
  return requestResult(request, what);
}

/** Write a saved model's files to IndexedDB, as downloads, or (for URLs) refuse. */
export async function saveModelFiles(target: string, files: ModelFiles, what = 'saveModel'): Promise<void> {
  if (target.startsWith('indexeddb://')) {
    const name = target.slice('indexeddb://'.length);
    if (name === '') throw new SerializationError(`${what}: indexeddb:// needs a name, e.g. indexeddb://my-model`);
    const db = await openDatabase(what);
    try {
      const record = Object.fromEntries(files);
      await requestResult(db.transaction(STORE, 'readwrite').objectStore(STORE).put(record, name), what);
    } finally {
      db.close();
    }
    return;
  }
  if (target.startsWith('downloads://')) {
    const name = target.slice('downloads://'.length) || 'model';
    const g = globalThis as unknown as {
      document?: { createElement(tag: 'a'): { href: string; download: string; click(): void } };
      URL?: { createObjectURL(blob: unknown): string; revokeObjectURL(url: string): void };
      Blob?: new (parts: unknown[], options?: { type?: string }) => unknown;
    };
    if (!g.document || !g.URL || !g.Blob) throw new SerializationError(`${what}: downloads:// needs a browser page (document, Blob, URL)`);
    for (const [file, data] of files) {
      const url = g.URL.createObjectURL(new g.Blob([data], { type: 'application/octet-stream' }));
      const a = g.document.createElement('a');
      a.href = url;
      // Browsers download into one folder: the files are prefixed with the model's name (name.model.json, ...).
      a.download = `${name}.${file}`;
      a.click();
      setTimeout(() => g.URL?.revokeObjectURL(url), 1000);
    }
    return;
  }
  throw new SerializationError(`${what}: cannot save to ${target}; save to indexeddb://name, downloads://name or (on Node) a folder`);
}

/** Read the named files of a saved model from IndexedDB, a URL folder, or picked files. Missing files are SerializationErrors. */
export async function loadModelFiles(source: ModelSource, names: readonly string[], what = 'loadModel'): Promise<ModelFiles> {
  const out: ModelFiles = new Map();
  if (typeof source !== 'string') {
    const picked = Array.from(source);
    for (const name of names) {
      // `lenet.model.json` (a downloaded model) and `model.json` both match.
      const file = picked.find((f) => f.name === name || f.name.endsWith(`.${name}`));
      if (!file) throw new SerializationError(`${what}: the picked files have no ${name} (got ${picked.map((f) => f.name).join(', ') || 'none'})`);
      out.set(name, new Uint8Array(await file.arrayBuffer()));
    }
    return out;
  }
  if (source.startsWith('indexeddb://')) {
    const name = source.slice('indexeddb://'.length);
    const db = await openDatabase(what);
    let record: unknown;
    try {
      record = await requestResult(db.transaction(STORE, 'readonly').objectStore(STORE).get(name), what);
    } finally {
      db.close();
    }
    if (record === undefined || record === null || typeof record !== 'object') throw new SerializationError(`${what}: no model named '${name}' in IndexedDB`);
    for (const file of names) {
      const data = (record as Record<string, Uint8Array | string | undefined>)[file];
      if (data === undefined) throw new SerializationError(`${what}: the model '${name}' in IndexedDB has no ${file}`);
      out.set(file, data);
    }
    return out;
  }
  if (/^https?:\/\//.test(source)) {
    const fetchFn = (globalThis as { fetch?: (url: string) => Promise<{ ok: boolean; status: number; arrayBuffer(): Promise<ArrayBuffer> }> }).fetch;
    if (!fetchFn) throw new SerializationError(`${what}: loading from a URL needs fetch`);
    const base = source.endsWith('/') ? source : source.replace(/[^/]*$/, '');
    for (const file of names) {
      const url = `${base}${file}`;
      let response: Awaited<ReturnType<typeof fetchFn>>;
      try {
        response = await fetchFn(url);
      } catch (e) {
        throw new SerializationError(`${what}: could not fetch ${url} (${(e as Error).message})`);
      }
      if (!response.ok) throw new SerializationError(`${what}: ${url} answered HTTP ${response.status}`);
      out.set(file, new Uint8Array(await response.arrayBuffer()));
    }
    return out;
  }
  throw new SerializationError(`${what}: cannot load from ${source}`);
}
