/*
 * The few host objects neurite's API mentions, as the structural types it
 * needs. Declaring them here keeps the published .d.ts files free of the DOM
 * and @types/node globals, so a strict TypeScript project type-checks neurite
 * whatever its `lib` and `types` settings.
 */

/** What neurite reads of an AbortSignal (a browser's or Node's both fit). */
export interface AbortSignalLike {
  /** True once the caller has asked to stop. */
  readonly aborted: boolean;
  /** Why the caller stopped, if it said. */
  readonly reason?: unknown;
}

/** A file URL as Node's and browsers' URL objects provide it (`new URL('file:///...')`). */
export interface UrlLike {
  /** The whole address. */
  readonly href: string;
  /** The scheme with its colon, e.g. 'https:' or 'file:'. */
  readonly protocol: string;
  /** The path part of the address. */
  readonly pathname: string;
}
