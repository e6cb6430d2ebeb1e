/** `shutdown`: how long in-flight requests may finish after SIGTERM/SIGINT (server.ts). */
import { Type } from '@sinclair/typebox'
import { duration, type Ctx, type Obj } from '../fields.js'
import { closed, Duration } from '../schema-parts.js'

export const SHUTDOWN_DEFAULTS = Object.freeze({ timeout: 30_000 })

export const ShutdownSchema = Type.Object({ timeout: Type.Optional(Duration(SHUTDOWN_DEFAULTS.timeout)) }, closed)

export interface ShutdownConfig {
  /** How long in-flight requests may take after SIGTERM/SIGINT before the process exits anyway. */
  timeout: number
}

export function normaliseShutdown (ctx: Ctx, o: Obj): ShutdownConfig {
  return { timeout: duration(ctx, o, 'timeout', ['shutdown'], SHUTDOWN_DEFAULTS.timeout, 0) }
}
