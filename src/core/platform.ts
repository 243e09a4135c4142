/*
 * The few host objects neurite's API mentions, as the structural types it
 * needs. Declaring them here keeps the published .d.ts files free of the DOM
 * and @types/node globals, so a strict TypeScript project type-checks neurite
 * whatever its `lib` and `types` settings.
 */

/** What neurite reads of an AbortSignal (a browser's or Node's both fit). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
}

/** A file URL as Node's and browsers' URL objects provide it (`new URL('file:///...')`). */
export interface UrlLike {
  readonly href: string;
  readonly protocol: string;
  readonly pathname: string;
}
