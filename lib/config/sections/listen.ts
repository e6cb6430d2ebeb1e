/**
 * `listen`: the client-facing listeners. One mapping (a single listener, as before) or a list
 * of them, for example plaintext :80 and TLS :443 in one process. Each has its own address,
 * forwarded-header trust, timeouts and head size limit (passed to Node's http/https server),
 * and optionally `tls` (sections/listen-tls.ts) or `redirect: https` (answers every request
 * with a 308 to the same host and path on the first TLS listener).
 */
import { Type } from '@sinclair/typebox'
import { bool, duration, int, isObj, size, str, type Ctx, type Obj } from '../fields.js'
import { renderPath, type Segments } from '../issues.js'
import { Bool, closed, Duration, Name, OneOf, Port, Size } from '../schema-parts.js'
import { ListenTlsSchema, normaliseListenTls, type ListenTlsConfig } from './listen-tls.js'

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

const ListenerSchema = Type.Object({
  host: Type.Optional(Name(d.host)),
  port: Type.Optional(Port(d.port)),
  trustProxy: Type.Optional(Bool(d.trustProxy)),
  headersTimeout: Type.Optional(Duration(d.headersTimeout)),
  requestTimeout: Type.Optional(Duration(d.requestTimeout)),
  keepAliveTimeout: Type.Optional(Duration(d.keepAliveTimeout)),
  maxHeaderSize: Type.Optional(Size(d.maxHeaderSize)),
  redirect: Type.Optional(OneOf(['https'])),
  tls: Type.Optional(ListenTlsSchema)
}, closed)

export const ListenSchema = Type.Union([ListenerSchema, Type.Array(ListenerSchema, { minItems: 1 })],
  { description: 'a listener ({ host, port, ... }) or a list of them', byShape: true })

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
  /** Every request is answered with a 308 to the first TLS listener (plaintext listeners only). */
  redirect?: 'https'
  /** TLS termination; absent: plaintext HTTP. */
  tls?: ListenTlsConfig
}

/** Every listener, in config order (`listen` as one mapping gives a list of one). */
export function normaliseListen (ctx: Ctx, raw: unknown): ListenConfig[] {
  if (Array.isArray(raw)) {
    const list = raw.map((o, i) => listener(ctx, isObj(o) ? o : {}, ['listen', i]))
    checkRedirects(ctx, list, (i) => ['listen', i, 'redirect'])
    return list
  }
  const list = [listener(ctx, isObj(raw) ? raw : {}, ['listen'])]
  checkRedirects(ctx, list, () => ['listen', 'redirect'])
  return list
}

function listener (ctx: Ctx, o: Obj, at: Segments): ListenConfig {
  const listen: ListenConfig = {
    host: str(o, 'host', d.host),
    port: int(o, 'port', d.port),
    trustProxy: bool(o, 'trustProxy', d.trustProxy),
    headersTimeout: duration(ctx, o, 'headersTimeout', at, d.headersTimeout, 1),
    requestTimeout: duration(ctx, o, 'requestTimeout', at, d.requestTimeout, 0), // 0 disables, as in Node
    keepAliveTimeout: duration(ctx, o, 'keepAliveTimeout', at, d.keepAliveTimeout, 1),
    maxHeaderSize: size(ctx, o, 'maxHeaderSize', at, d.maxHeaderSize, 1)
  }
  if (o.redirect === 'https') listen.redirect = 'https'
  if (isObj(o.tls)) listen.tls = normaliseListenTls(ctx, o.tls, [...at, 'tls'])
  if (listen.redirect !== undefined && listen.tls !== undefined) {
    ctx.issues.add([...at, 'redirect'], 'a TLS listener cannot redirect to HTTPS; set redirect on a plaintext listener')
  }
  // Node's http.createServer throws when headersTimeout > requestTimeout (unless the latter is 0).
  if (listen.requestTimeout > 0 && listen.headersTimeout > listen.requestTimeout &&
    !ctx.issues.has([...at, 'headersTimeout']) && !ctx.issues.has([...at, 'requestTimeout'])) {
    ctx.issues.add([...at, 'headersTimeout'],
      `must not be longer than ${renderPath([...at, 'requestTimeout'])} (${listen.headersTimeout} ms > ${listen.requestTimeout} ms)`)
  }
  return listen
}

function checkRedirects (ctx: Ctx, list: ListenConfig[], at: (i: number) => Segments): void {
  if (list.some((l) => l.tls !== undefined)) return
  list.forEach((l, i) => {
    if (l.redirect !== undefined) ctx.issues.add(at(i), 'redirect: https needs a TLS listener (one with `tls`) in the same listen list to redirect to')
  })
}
