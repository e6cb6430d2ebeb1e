/**
 * `workers`: how many processes serve client traffic (docs/workers.md). `1` (the default) is
 * today's single process; `N` or `auto` start a primary (config, admin API, active health
 * checks) and N worker processes that share the client listeners (lib/cluster/).
 *
 *   workers: 2                                   # or: auto (the cores this process may use)
 *   workers: { count: auto, debugHeader: true }  # the mapping form, for the debug header
 */
import { availableParallelism } from 'node:os'
import { Type, type TSchema } from '@sinclair/typebox'
import { bool, isObj, type Obj } from '../fields.js'
import { closed, Bool, withDefault } from '../schema-parts.js'

export const WORKERS_DEFAULTS = Object.freeze({ count: 1, debugHeader: false })

/** More workers than this is a typo, not a machine. */
export const MAX_WORKERS = 256

const Count = (def?: number): TSchema => Type.Union([Type.Integer({ minimum: 1, maximum: MAX_WORKERS }), Type.Literal('auto')], { description: `an integer 1-${MAX_WORKERS}, or auto`, ...withDefault(def) })

export const WorkersSchema = Type.Union([
  Count(),
  Type.Object({ count: Type.Optional(Count(WORKERS_DEFAULTS.count)), debugHeader: Type.Optional(Bool(WORKERS_DEFAULTS.debugHeader)) }, closed)
], { description: `an integer 1-${MAX_WORKERS}, auto, or a mapping with count and debugHeader` })

export interface WorkersConfig {
  /** Worker processes; 1: no primary, the process serves traffic itself. */
  count: number
  /** As written: a number, or 'auto' (count is then the cores available at load). */
  setting: number | 'auto'
  /** Answers carry `x-gateway-worker: <worker number>` (1-based; 0 with one process). Off by default. */
  debugHeader: boolean
}

export function normaliseWorkers (raw: unknown, cores: () => number = availableParallelism): WorkersConfig {
  const o: Obj = isObj(raw) ? raw : { count: raw }
  const setting = o.count === 'auto' ? 'auto' : typeof o.count === 'number' && Number.isInteger(o.count) ? o.count : WORKERS_DEFAULTS.count
  const count = setting === 'auto' ? Math.max(1, Math.min(MAX_WORKERS, cores())) : setting
  return { count, setting, debugHeader: bool(o, 'debugHeader', WORKERS_DEFAULTS.debugHeader) }
}
