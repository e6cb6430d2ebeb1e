/**
 * Small readers used by the normalisers. They run after the schema check, so a value of the
 * wrong type has already been reported: readers then quietly return the default, and the load
 * fails anyway. Readers only report problems the schema cannot see (a duration's syntax, a
 * lower bound).
 */

import { parseDuration, parseSize } from './duration.js'
import type { IssueList, Segments } from './issues.js'

export type Obj = Record<string, unknown>

export interface Ctx {
  issues: IssueList
  /** Folder that relative file paths (tls.caFile) are resolved against. */
  baseDir: string
}

export function isObj (v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** The mapping at `o[key]`, or an empty one when absent or not a mapping. */
export function section (o: Obj, key: string): Obj {
  const v = o[key]
  return isObj(v) ? v : {}
}

export function str (o: Obj, key: string, def: string): string {
  const v = o[key]
  return typeof v === 'string' ? v : def
}

export function bool (o: Obj, key: string, def: boolean): boolean {
  const v = o[key]
  return typeof v === 'boolean' ? v : def
}

export function int (o: Obj, key: string, def: number): number {
  const v = o[key]
  return typeof v === 'number' && Number.isInteger(v) ? v : def
}

/** Any finite number (a percent, a multiplier). */
export function num (o: Obj, key: string, def: number): number {
  const v = o[key]
  return typeof v === 'number' && Number.isFinite(v) ? v : def
}

/**
 * A duration in ms. `min` 1 means zero is rejected (for timeouts where 0 would mean "never",
 * which the gateway does not allow silently); `min` 0 allows it.
 */
export function duration (ctx: Ctx, o: Obj, key: string, segs: Segments, def: number, min: 0 | 1): number {
  return measured(ctx, o, key, segs, def, min, parseDuration)
}

/** A size in bytes; `min` as for duration. */
export function size (ctx: Ctx, o: Obj, key: string, segs: Segments, def: number, min: 0 | 1): number {
  return measured(ctx, o, key, segs, def, min, parseSize)
}

function measured (ctx: Ctx, o: Obj, key: string, segs: Segments, def: number, min: 0 | 1,
  parse: (v: string | number) => number): number {
  const v = o[key]
  if (typeof v !== 'string' && typeof v !== 'number') return def
  const at = [...segs, key]
  try {
    const n = parse(v)
    if (n < min) {
      ctx.issues.add(at, 'must be greater than 0')
      return def
    }
    return n
  } catch (err) {
    ctx.issues.add(at, (err as Error).message)
    return def
  }
}

/** A short reason for a failed file read, without a stack or errno noise. */
export function fsReason (err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return 'file not found'
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied'
  if (code === 'EISDIR') return 'it is a directory, not a file'
  return code ?? (err instanceof Error ? err.message : String(err))
}
