/** `log`: the pino level and the access log (on, off, or a sampled share of requests). */
import { Type } from '@sinclair/typebox'
import { bool, isObj, str, type Obj } from '../fields.js'
import { closed, OneOf } from '../schema-parts.js'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const LOG_DEFAULTS = Object.freeze({ level: 'info' as const, access: true })

export const LogSchema = Type.Object({
  level: Type.Optional(OneOf(LOG_LEVELS, LOG_DEFAULTS.level)),
  access: Type.Optional(Type.Union([
    Type.Boolean(),
    Type.Object({ sample: Type.Number({ minimum: 0, maximum: 1 }) }, closed)
  ], { default: LOG_DEFAULTS.access, description: 'true, false, or { sample: 0.1 }' }))
}, closed)

export interface LogConfig {
  level: typeof LOG_LEVELS[number]
  /** One JSON line per request when true. */
  access: boolean
  /** With access on: the share of requests logged (1: all); failed requests are always logged. */
  accessSample: number
}

/** Reports nothing: the schema has already checked every value this reads. */
export function normaliseLog (l: Obj): LogConfig {
  const level = str(l, 'level', LOG_DEFAULTS.level)
  return {
    level: (LOG_LEVELS as readonly string[]).includes(level) ? level as LogConfig['level'] : LOG_DEFAULTS.level,
    // `access: { sample: S }` turns the log on for a share S; a plain true or false logs every
    // request or none, so its sample is 1 (not a default: what `true` means).
    access: isObj(l.access) ? true : bool(l, 'access', LOG_DEFAULTS.access),
    accessSample: isObj(l.access) && typeof l.access.sample === 'number' ? l.access.sample : 1
  }
}
