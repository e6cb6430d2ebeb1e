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
import { Bool, closed, Duration, Int, Name, OneOf, Port, Size } from '../schema-parts.js'
import { ListenTlsSchema, normaliseListenTls, type ListenTlsConfig } from './listen-tls.js'

/** In normalised units: durations in ms, sizes in bytes. */
export const LISTEN_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  trustProxy: false,
  headersTimeout: 10_000, // 10s
  requestTimeout: 300_000, // 5m
  keepAliveTimeout: 65_000, // 65s, above common client and LB idle timeouts (60s)
  maxHeaderSize: 16 * 1024, // 16kb, Node's own default
  // HTTP/2 (lib/traffic/h2.ts). Stream resets: the gateway's token bucket against rapid reset
  // (CVE-2023-44487), below nghttp2's own (1000, 33/s) so the gateway's GOAWAY
  // ENHANCE_YOUR_CALM comes before nghttp2's INTERNAL_ERROR; pings and settings: Node's defaults.
  http2Limits: Object.freeze({
    maxConcurrentStreams: 100,
    headerTableSize: 4096,
    maxSessionMemory: 10 * 1024 * 1024, // 10mb
    streamResetBurst: 500,
    streamResetRate: 20,
    maxOutstandingPings: 10,
    maxSettings: 32
  })
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
  tls: Type.Optional(ListenTlsSchema),
  http2: Type.Optional(Type.Boolean({ description: 'true or false (default: true with tls, false without)' })),
  http2Limits: Type.Optional(Type.Object({
    maxConcurrentStreams: Type.Optional(Int(1, 2 ** 31 - 1, d.http2Limits.maxConcurrentStreams)),
    headerTableSize: Type.Optional(Int(0, 2 ** 32 - 1, d.http2Limits.headerTableSize)),
    maxSessionMemory: Type.Optional(Size(d.http2Limits.maxSessionMemory)),
    streamResetBurst: Type.Optional(Int(1, 1_000_000, d.http2Limits.streamResetBurst)),
    streamResetRate: Type.Optional(Int(1, 1_000_000, d.http2Limits.streamResetRate)),
    maxOutstandingPings: Type.Optional(Int(1, 10_000, d.http2Limits.maxOutstandingPings)),
    maxSettings: Type.Optional(Int(1, 1000, d.http2Limits.maxSettings))
  }, closed))
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
  /** HTTP/2: with TLS, offered by ALPN beside HTTP/1.1; without, h2c by prior knowledge only. */
  http2: boolean
  http2Limits: Http2Limits
}

/** Per HTTP/2 connection from a client; past them the client gets GOAWAY (or a refused stream). */
export interface Http2Limits {
  maxConcurrentStreams: number
  /** HPACK dynamic table, both ways (bytes). */
  headerTableSize: number
  /** Bytes a session may hold (Node's maxSessionMemory, in MB there); past it new streams are refused. */
  maxSessionMemory: number
  /** RST_STREAM token bucket: `streamResetBurst` at once, refilled at `streamResetRate` per second. */
  streamResetBurst: number
  streamResetRate: number
  maxOutstandingPings: number
  /** SETTINGS entries per frame. */
  maxSettings: number
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
  const listen: Omit<ListenConfig, 'http2' | 'http2Limits'> & Partial<ListenConfig> = {
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
  listen.http2 = bool(o, 'http2', listen.tls !== undefined && listen.redirect === undefined)
  if (listen.http2 && listen.redirect !== undefined) ctx.issues.add([...at, 'http2'], 'a redirect listener speaks HTTP/1.1 only; leave http2 off there')
  const h = isObj(o.http2Limits) ? o.http2Limits : {}
  const dl = d.http2Limits
  listen.http2Limits = {
    maxConcurrentStreams: int(h, 'maxConcurrentStreams', dl.maxConcurrentStreams),
    headerTableSize: int(h, 'headerTableSize', dl.headerTableSize),
    maxSessionMemory: size(ctx, h, 'maxSessionMemory', [...at, 'http2Limits'], dl.maxSessionMemory, 1),
    streamResetBurst: int(h, 'streamResetBurst', dl.streamResetBurst),
    streamResetRate: int(h, 'streamResetRate', dl.streamResetRate),
    maxOutstandingPings: int(h, 'maxOutstandingPings', dl.maxOutstandingPings),
    maxSettings: int(h, 'maxSettings', dl.maxSettings)
  }
  if (listen.redirect !== undefined && listen.tls !== undefined) {
    ctx.issues.add([...at, 'redirect'], 'a TLS listener cannot redirect to HTTPS; set redirect on a plaintext listener')
  }
  // Node's http.createServer throws when headersTimeout > requestTimeout (unless the latter is 0).
  if (listen.requestTimeout > 0 && listen.headersTimeout > listen.requestTimeout &&
    !ctx.issues.has([...at, 'headersTimeout']) && !ctx.issues.has([...at, 'requestTimeout'])) {
    ctx.issues.add([...at, 'headersTimeout'],
      `must not be longer than ${renderPath([...at, 'requestTimeout'])} (${listen.headersTimeout} ms > ${listen.requestTimeout} ms)`)
  }
  return listen as ListenConfig
}

function checkRedirects (ctx: Ctx, list: ListenConfig[], at: (i: number) => Segments): void {
  if (list.some((l) => l.tls !== undefined)) return
  list.forEach((l, i) => {
    if (l.redirect !== undefined) ctx.issues.add(at(i), 'redirect: https needs a TLS listener (one with `tls`) in the same listen list to redirect to')
  })
}
