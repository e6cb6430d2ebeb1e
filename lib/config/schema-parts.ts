/**
 * TypeBox building blocks shared by the section schemas (sections/*.ts). A `default:` annotation
 * is always passed in by the caller, and is always a field of that section's DEFAULTS constant,
 * never a literal: the annotation documents the default to schema readers, the section's
 * normaliser is what applies it (test/config-schema-defaults.test.ts holds both to one value).
 */
import { Type, type TSchema } from '@sinclair/typebox'

/** Every config mapping is closed, so a misspelt key is an error rather than silently ignored. */
export const closed = { additionalProperties: false } as const

const DURATION_TEXT = 'a duration (a number of ms, or 250ms, 5s, 1m, 1h)'
const SIZE_TEXT = 'a size (a number of bytes, or 512b, 16kb, 1mb, 1gb)'
/**
 * The wording the pool resilience sections (healthCheck, circuitBreaker, retry) have always used
 * in "expected ..." messages. TODO: one wording for every duration; kept apart for now so this
 * reorganisation changes no message.
 */
export const RESILIENCE_DURATION_TEXT = 'a duration (a number of ms, or 250ms, 5s, 1m)'

/** With `def` undefined, no annotation (a key with no default, or a required one). */
export function withDefault (def: unknown): { default?: unknown } {
  return def === undefined ? {} : { default: def }
}

/** A duration: a number of ms or a string with a unit, parsed by the normaliser (fields.ts). */
export const Duration = (def?: number, description = DURATION_TEXT): TSchema =>
  Type.Union([Type.String(), Type.Number()], { ...withDefault(def), description })

/** A size: a number of bytes or a string with a unit, parsed by the normaliser (fields.ts). */
export const Size = (def?: number, description = SIZE_TEXT): TSchema =>
  Type.Union([Type.String(), Type.Number()], { ...withDefault(def), description })

export const Port = (def?: number): TSchema => Type.Integer({ minimum: 0, maximum: 65535, ...withDefault(def) })

export const Name = (def?: string): TSchema => Type.String({ minLength: 1, ...withDefault(def) })

export const Bool = (def?: boolean): TSchema => Type.Boolean(withDefault(def))

export const Int = (minimum: number, maximum: number, def?: number): TSchema => Type.Integer({ minimum, maximum, ...withDefault(def) })

/** One of a fixed list of strings. */
export const OneOf = (values: readonly string[], def?: string): TSchema =>
  Type.Union(values.map((v) => Type.Literal(v)), withDefault(def))

/** An HTTP header name (an RFC 9110 token). */
export const HeaderName = Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$', description: 'a header name' })

/** An HTTP status code. */
export const Status = Type.Integer({ minimum: 100, maximum: 599 })

/** An HTTP method name (upper-cased by the normalisers). */
export const Method = (def?: string): TSchema => Type.String({ pattern: '^[A-Za-z]+$', ...withDefault(def) })
