/** `websocket`: gateway-wide settings of proxied WebSockets (routes opt in with `websocket: true`). */
import { Type } from '@sinclair/typebox'
import { duration, type Ctx, type Obj } from '../fields.js'
import { closed, Duration } from '../schema-parts.js'

export const WEBSOCKET_DEFAULTS = Object.freeze({ drainTimeout: 10_000 })

export const WebSocketSchema = Type.Object({ drainTimeout: Type.Optional(Duration(WEBSOCKET_DEFAULTS.drainTimeout)) }, closed)

export interface WebSocketConfig {
  /**
   * On shutdown, or when a backend drains or leaves, its open WebSockets get close code 1001
   * after this long (ms); 0: at once.
   */
  drainTimeout: number
}

export function normaliseWebSocket (ctx: Ctx, o: Obj): WebSocketConfig {
  return { drainTimeout: duration(ctx, o, 'drainTimeout', ['websocket'], WEBSOCKET_DEFAULTS.drainTimeout, 0) }
}
