/**
 * `tcp`: layer-4 listeners, each piping accepted connections to a backend of its pool. Checked
 * here: the pool exists. Port clashes with the other listeners are checked by the root
 * normaliser (normalise.ts), which sees every section.
 */
import { Type } from '@sinclair/typebox'
import { duration, int, isObj, section, str, type Ctx } from '../fields.js'
import { closed, Duration, Name, Port } from '../schema-parts.js'
import { LISTEN_DEFAULTS } from './listen.js'
import type { PoolConfig } from './pools.js'

/** Per listener; a listener's host defaults to the one `listen.host` defaults to. */
export const TCP_DEFAULTS = Object.freeze({
  listen: Object.freeze({ host: LISTEN_DEFAULTS.host }),
  idleTimeout: 300_000, // 5m
  maxConnections: 0, // no limit
  drainTimeout: 10_000
})

const d = TCP_DEFAULTS

export const TcpListenerSchema = Type.Object({
  listen: Type.Object({ host: Type.Optional(Name(d.listen.host)), port: Port() }, closed),
  pool: Name(),
  idleTimeout: Type.Optional(Duration(d.idleTimeout)),
  maxConnections: Type.Optional(Type.Integer({ minimum: 0, default: d.maxConnections })),
  drainTimeout: Type.Optional(Duration(d.drainTimeout))
}, closed)

export const TcpSchema = Type.Array(TcpListenerSchema)

/** A layer-4 listener: each accepted connection is piped to a backend of `pool`. */
export interface TcpListenerConfig {
  listen: { host: string, port: number }
  pool: string
  /** A connection with no bytes either way for this long is closed (ms); 0: never. */
  idleTimeout: number
  /** Connections the listener holds at once; more are refused at accept (0: no limit). */
  maxConnections: number
  /** On shutdown, removal of the listener, or a backend drain: connections still open after this are closed (ms). */
  drainTimeout: number
}

/** `pools`: the normalised pools, to check each listener's pool reference. */
export function normaliseTcp (ctx: Ctx, raw: unknown, pools: Record<string, PoolConfig>): TcpListenerConfig[] {
  if (!Array.isArray(raw)) return []
  return raw.filter(isObj).map((t, i) => {
    const segs = ['tcp', i]
    const l = section(t, 'listen')
    // pool and listen.port are required: their fallbacks only fill a config that fails anyway.
    const pool = str(t, 'pool', '')
    if (pool !== '' && pools[pool] === undefined && !ctx.issues.has([...segs, 'pool'])) {
      ctx.issues.add([...segs, 'pool'], `unknown pool "${pool}"; known pools: ${Object.keys(pools).join(', ')}`)
    }
    return {
      listen: { host: str(l, 'host', d.listen.host), port: int(l, 'port', 0) },
      pool,
      idleTimeout: duration(ctx, t, 'idleTimeout', segs, d.idleTimeout, 0),
      maxConnections: int(t, 'maxConnections', d.maxConnections),
      drainTimeout: duration(ctx, t, 'drainTimeout', segs, d.drainTimeout, 0)
    }
  })
}
