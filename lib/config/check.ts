/**
 * Checking a value against a TypeBox schema and wording the errors: `expected an integer from 0
 * to 65535 (got the string "x")`, `unknown key; did you mean port?`. Nothing here knows the
 * config's root schema, so the sections that carry schemas of their own (an algorithm's options,
 * sections/algorithm.ts) can use it without an import cycle through schema.ts; validate.ts runs
 * the root schema with the same wording.
 */

import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import type { TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { IssueList, Segments } from './issues.js'

/**
 * Checks a value that has a schema of its own (an algorithm's options) and reports errors under
 * `base`, in the same words as checkSchema. Strings from substitutions are converted to the
 * schema's types first, and the schema's defaults are filled in; returns the result.
 */
export function checkAgainst (schema: TSchema, value: unknown, base: Segments, issues: IssueList): unknown {
  const v = Value.Default(schema, Value.Convert(schema, structuredClone(value)))
  for (const e of Value.Errors(schema, v)) {
    const segs = [...base, ...pointerToSegments(v, e.path)]
    issues.add(segs, messageFor(e, segs))
  }
  return v
}

/** The message for one TypeBox error at `segs`. */
export function messageFor (e: ValueError, segs: Segments): string {
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties:
      return unknownKey(String(segs[segs.length - 1]), Object.keys(e.schema.properties ?? {}))
    case ValueErrorType.ObjectRequiredProperty:
      return `required key is missing (expected ${describeSchema(e.schema)})`
    case ValueErrorType.ArrayMinItems:
    case ValueErrorType.ObjectMinProperties:
      return typeof e.schema.minMessage === 'string' ? e.schema.minMessage : 'must not be empty'
    default:
      return `expected ${describeSchema(e.schema)} (got ${describeValue(e.value)})${quoteHint(e.schema, e.value)}`
  }
}

/** YAML turns unquoted `1` or `true` into a number or boolean; say how to keep it a string. */
function quoteHint (s: TSchema, v: unknown): string {
  if (s.type !== 'string' || (typeof v !== 'number' && typeof v !== 'boolean')) return ''
  return `; quote it in YAML ("${String(v)}") to make it a string`
}

export function describeValue (v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'an empty value'
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v)}`
  if (typeof v === 'number') return `the number ${v}`
  if (typeof v === 'boolean') return String(v)
  return Array.isArray(v) ? 'a list' : 'a mapping'
}

function describeNumber (s: TSchema): string {
  const what = s.type === 'integer' ? 'an integer' : 'a number'
  const min = s.minimum as number | undefined
  const max = s.maximum as number | undefined
  const xmin = s.exclusiveMinimum as number | undefined
  if (min !== undefined && max !== undefined) return `${what} from ${min} to ${max}`
  if (min !== undefined) return `${what} of at least ${min}`
  if (xmin !== undefined) return `${what} greater than ${xmin}`
  if (max !== undefined) return `${what} of at most ${max}`
  return what
}

/** Plain-English name of what a schema accepts, for "expected X, got Y" messages. */
export function describeSchema (s: TSchema): string {
  // Numbers are described by their bounds: that is what a user needs to fix an out-of-range value.
  if (s.type === 'integer' || s.type === 'number') return describeNumber(s)
  if (typeof s.description === 'string') return s.description
  if (Array.isArray(s.anyOf) && s.anyOf.every((m: TSchema) => 'const' in m)) {
    return `one of: ${s.anyOf.map((m: TSchema) => String(m.const)).join(', ')}`
  }
  switch (s.type) {
    case 'string': return s.minLength !== undefined && s.minLength > 0 ? 'a non-empty string' : 'a string'
    case 'boolean': return 'true or false'
    case 'array': return 'a list'
    default: return 'a mapping'
  }
}

function unknownKey (key: string, known: string[]): string {
  const close = closest(key, known)
  if (close !== undefined) return `unknown key; did you mean ${close}?`
  return known.length === 0 ? 'unknown key' : `unknown key; known keys: ${known.join(', ')}`
}

/**
 * The known key the user most likely meant: one it is a prefix of ("path" -> pathPrefix), else
 * the nearest by case-insensitive edit distance, at most 2.
 */
export function closest (key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase()
  if (lower.length >= 3) {
    const extended = known.find((k) => k.toLowerCase().startsWith(lower))
    if (extended !== undefined) return extended
  }
  let best: string | undefined
  let bestDistance = 3
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase())
    if (d < bestDistance && d < k.length) { best = k; bestDistance = d }
  }
  return best
}

/** Levenshtein distance with adjacent transpositions counted as one edit ("prot" -> "port"). */
function editDistance (a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/** JSON pointer (`/pools/web/backends/0`) to segments, with list indexes as numbers. */
export function pointerToSegments (root: unknown, pointer: string): Array<string | number> {
  const segs: Array<string | number> = []
  if (pointer === '') return segs
  let node: unknown = root
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    const seg = Array.isArray(node) && /^\d+$/.test(key) ? Number(key) : key
    segs.push(seg)
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined
  }
  return segs
}
