/**
 * `listen`: the client-facing HTTP server (address, forwarded-header trust, and the timeouts and
 * head size limit that server.ts passes to Node's http.createServer).
 */
import { Type } from '@sinclair/typebox'
import { bool, duration, int, size, str, type Ctx, type Obj } from '../fields.js'
import { Bool, closed, Duration, Name, Port, Size } from '../schema-parts.js'

/** In normalised units: durations in ms, sizes in bytes. */
export const LISTEN_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  trustProxy: false,
  headersTimeout: 10_000, // 10s
  requestTimeout: 300_000, // 5m
  keepAliveTimeout: 65_000, // 65s, above common client and LB idle timeouts (60s)
  maxHeaderSize: 16 * 1024 // 16kb, Node's own default
})

const d = LISTEN_DEFAULTS

export const ListenSchema = Type.Object({
  host: Type.Optional(Name(d.host)),
  port: Type.Optional(Port(d.port)),
  trustProxy: Type.Optional(Bool(d.trustProxy)),
  headersTimeout: Type.Optional(Duration(d.headersTimeout)),
  requestTimeout: Type.Optional(Duration(d.requestTimeout)),
  keepAliveTimeout: Type.Optional(Duration(d.keepAliveTimeout)),
  maxHeaderSize: Type.Optional(Size(d.maxHeaderSize))
}, closed)

export interface ListenConfig {
  host: string
  port: number
  /** Keep incoming X-Forwarded-* (append to X-Forwarded-For) when true; replace them when false. */
  trustProxy: boolean
  /** Whole request head must arrive within this (slowloris guard). */
  headersTimeout: number
  /** Whole request (head and body) must arrive within this. 0 disables. */
  requestTimeout: number
  /** Idle keep-alive connections from clients are closed after this. */
  keepAliveTimeout: number
  /** Largest request head accepted; larger gets 431. */
  maxHeaderSize: number
}

export function normaliseListen (ctx: Ctx, o: Obj): ListenConfig {
  const at = ['listen']
  const listen: ListenConfig = {
    host: str(o, 'host', d.host),
    port: int(o, 'port', d.port),
    trustProxy: bool(o, 'trustProxy', d.trustProxy),
    headersTimeout: duration(ctx, o, 'headersTimeout', at, d.headersTimeout, 1),
    requestTimeout: duration(ctx, o, 'requestTimeout', at, d.requestTimeout, 0), // 0 disables, as in Node
    keepAliveTimeout: duration(ctx, o, 'keepAliveTimeout', at, d.keepAliveTimeout, 1),
    maxHeaderSize: size(ctx, o, 'maxHeaderSize', at, d.maxHeaderSize, 1)
  }
  // Node's http.createServer throws when headersTimeout > requestTimeout (unless the latter is 0).
  if (listen.requestTimeout > 0 && listen.headersTimeout > listen.requestTimeout &&
    !ctx.issues.has(['listen', 'headersTimeout']) && !ctx.issues.has(['listen', 'requestTimeout'])) {
    ctx.issues.add(['listen', 'headersTimeout'],
      `must not be longer than listen.requestTimeout (${listen.headersTimeout} ms > ${listen.requestTimeout} ms)`)
  }
  return listen
}
