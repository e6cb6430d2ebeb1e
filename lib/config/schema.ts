/**
 * The accepted YAML shape as a TypeBox schema, and the defaults. The schema checks structure and
 * types only (unknown keys, wrong types, ranges); meaning (URLs, durations, pool references) is
 * checked by normalise.ts, which also applies DEFAULTS. Every object is closed
 * (`additionalProperties: false`) except an algorithm's options, which belong to the algorithm.
 */

import { CircuitBreakerSchema, HealthCheckSchema, RetrySchema } from './resilience.js'
import { MetricsSchema } from './metrics.js'
import { Type, type TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export const HOST_HEADER_MODES = ['preserve', 'backend'] as const

/** Defaults in normalised units: durations in ms, sizes in bytes. */
export const DEFAULTS = Object.freeze({
  listen: Object.freeze({
    host: '127.0.0.1',
    port: 8080,
    trustProxy: false,
    headersTimeout: 10_000, // 10s
    requestTimeout: 300_000, // 5m
    keepAliveTimeout: 65_000, // 65s, above common client and LB idle timeouts (60s)
    maxHeaderSize: 16 * 1024 // 16kb, Node's own default
  }),
  admin: Object.freeze({ host: '127.0.0.1', port: 9901, token: '' }),
  pool: Object.freeze({
    algorithm: 'round-robin',
    hostHeader: 'preserve' as const,
    slowStart: 0,
    timeouts: Object.freeze({ connect: 5_000, request: 60_000, idle: 4_000 }),
    tls: Object.freeze({ rejectUnauthorized: true })
  }),
  backend: Object.freeze({ weight: 1 }),
  route: Object.freeze({ pathPrefix: '/', stripPrefix: false, maxBodySize: 0 }),
  log: Object.freeze({ level: 'info' as const, access: true }),
  shutdown: Object.freeze({ timeout: 30_000 }),
  websocket: Object.freeze({ drainTimeout: 10_000 }),
  tcp: Object.freeze({ idleTimeout: 300_000, maxConnections: 0, drainTimeout: 10_000 })
})

const closed = { additionalProperties: false } as const

const Duration = (def: number): TSchema => Type.Union([Type.String(), Type.Number()], {
  default: def, description: 'a duration (a number of ms, or 250ms, 5s, 1m, 1h)'
})
const Size = (def: number): TSchema => Type.Union([Type.String(), Type.Number()], {
  default: def, description: 'a size (a number of bytes, or 512b, 16kb, 1mb, 1gb)'
})
const Port = (def: number): TSchema => Type.Integer({ minimum: 0, maximum: 65535, default: def })
const Name = (opts: object = {}): TSchema => Type.String({ minLength: 1, ...opts })
const OneOf = (values: readonly string[], def: string): TSchema =>
  Type.Union(values.map((v) => Type.Literal(v)), { default: def })

export const ListenSchema = Type.Object({
  host: Type.Optional(Name({ default: DEFAULTS.listen.host })),
  port: Type.Optional(Port(DEFAULTS.listen.port)),
  trustProxy: Type.Optional(Type.Boolean({ default: DEFAULTS.listen.trustProxy })),
  headersTimeout: Type.Optional(Duration(DEFAULTS.listen.headersTimeout)),
  requestTimeout: Type.Optional(Duration(DEFAULTS.listen.requestTimeout)),
  keepAliveTimeout: Type.Optional(Duration(DEFAULTS.listen.keepAliveTimeout)),
  maxHeaderSize: Type.Optional(Size(DEFAULTS.listen.maxHeaderSize))
}, closed)

export const AdminSchema = Type.Object({
  host: Type.Optional(Name({ default: DEFAULTS.admin.host })),
  port: Type.Optional(Port(DEFAULTS.admin.port)),
  token: Type.Optional(Type.String({ default: DEFAULTS.admin.token }))
}, closed)

export const AlgorithmSchema = Type.Union([
  Name(),
  Type.Object({ name: Type.Optional(Name()), module: Type.Optional(Name()) }, { additionalProperties: true })
], { default: DEFAULTS.pool.algorithm, description: 'an algorithm name, or a mapping with a name (or module) key plus the algorithm\'s options' })

export const BackendSchema = Type.Object({
  url: Name(),
  weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, default: DEFAULTS.backend.weight })),
  id: Type.Optional(Name())
}, closed)

export const PoolSchema = Type.Object({
  algorithm: Type.Optional(AlgorithmSchema),
  backends: Type.Array(BackendSchema, { minItems: 1, minMessage: 'must list at least one backend' }),
  timeouts: Type.Optional(Type.Object({
    connect: Type.Optional(Duration(DEFAULTS.pool.timeouts.connect)),
    request: Type.Optional(Duration(DEFAULTS.pool.timeouts.request)),
    idle: Type.Optional(Duration(DEFAULTS.pool.timeouts.idle))
  }, closed)),
  tls: Type.Optional(Type.Object({
    caFile: Type.Optional(Name()),
    rejectUnauthorized: Type.Optional(Type.Boolean({ default: DEFAULTS.pool.tls.rejectUnauthorized })),
    servername: Type.Optional(Name())
  }, closed)),
  hostHeader: Type.Optional(OneOf(HOST_HEADER_MODES, DEFAULTS.pool.hostHeader)),
  slowStart: Type.Optional(Duration(DEFAULTS.pool.slowStart)),
  healthCheck: Type.Optional(HealthCheckSchema),
  circuitBreaker: Type.Optional(CircuitBreakerSchema),
  retry: Type.Optional(RetrySchema),
  panicThreshold: Type.Optional(Type.Number({ minimum: 0, maximum: 100, default: 0, description: 'a percent from 0 to 100' }))
}, closed)

const HeaderName = Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$', description: 'a header name' })
const HeaderRulesSchema = Type.Object({
  set: Type.Optional(Type.Record(Type.String(), Type.String())),
  remove: Type.Optional(Type.Array(HeaderName))
}, closed)

export const RouteSchema = Type.Object({
  match: Type.Optional(Type.Object({
    host: Type.Optional(Name()),
    pathPrefix: Type.Optional(Name({ default: DEFAULTS.route.pathPrefix })),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    methods: Type.Optional(Type.Array(Name(), { minItems: 1, minMessage: 'must list at least one method (or leave methods out to match all)' }))
  }, closed)),
  pool: Name(),
  stripPrefix: Type.Optional(Type.Boolean({ default: DEFAULTS.route.stripPrefix })),
  maxBodySize: Type.Optional(Size(DEFAULTS.route.maxBodySize)),
  rateLimit: Type.Optional(Type.Object({
    max: Type.Integer({ minimum: 1 }),
    window: Type.Optional(Duration(60_000)),
    key: Type.Optional(Type.Union([Type.Literal('ip'), Type.Object({ header: HeaderName }, closed)], { description: 'ip or { header: NAME }' }))
  }, closed)),
  headers: Type.Optional(Type.Object({
    request: Type.Optional(HeaderRulesSchema),
    response: Type.Optional(HeaderRulesSchema)
  }, closed)),
  websocket: Type.Optional(Type.Boolean({ default: false }))
}, closed)

export const TcpListenerSchema = Type.Object({
  listen: Type.Object({ host: Type.Optional(Name({ default: DEFAULTS.listen.host })), port: Port(0) }, closed),
  pool: Name(),
  idleTimeout: Type.Optional(Duration(DEFAULTS.tcp.idleTimeout)),
  maxConnections: Type.Optional(Type.Integer({ minimum: 0, default: DEFAULTS.tcp.maxConnections })),
  drainTimeout: Type.Optional(Duration(DEFAULTS.tcp.drainTimeout))
}, closed)

export const ConfigSchema = Type.Object({
  listen: Type.Optional(ListenSchema),
  admin: Type.Optional(AdminSchema),
  pools: Type.Record(Type.String(), PoolSchema, { minProperties: 1, minMessage: 'must define at least one pool' }),
  routes: Type.Optional(Type.Array(RouteSchema, { minItems: 1, minMessage: 'must list at least one route (or leave routes out when there is a single pool)' })),
  log: Type.Optional(Type.Object({
    level: Type.Optional(OneOf(LOG_LEVELS, DEFAULTS.log.level)),
    access: Type.Optional(Type.Union([
      Type.Boolean(),
      Type.Object({ sample: Type.Number({ minimum: 0, maximum: 1 }) }, closed)
    ], { default: DEFAULTS.log.access, description: 'true, false, or { sample: 0.1 }' }))
  }, closed)),
  metrics: Type.Optional(MetricsSchema),
  plugins: Type.Optional(Type.Array(Type.Object({
    module: Type.String({ minLength: 1 }),
    options: Type.Optional(Type.Record(Type.String(), Type.Unknown()))
  }, closed))),
  shutdown: Type.Optional(Type.Object({ timeout: Type.Optional(Duration(DEFAULTS.shutdown.timeout)) }, closed)),
  websocket: Type.Optional(Type.Object({ drainTimeout: Type.Optional(Duration(DEFAULTS.websocket.drainTimeout)) }, closed)),
  tcp: Type.Optional(Type.Array(TcpListenerSchema))
}, { ...closed, description: 'a mapping with at least a pools section' })

export const configChecker = TypeCompiler.Compile(ConfigSchema)

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

/** The schema that governs the value at `segs`, or undefined (e.g. inside algorithm options). */
export function schemaAt (segs: ReadonlyArray<string | number>): TSchema | undefined {
  let s: TSchema | undefined = ConfigSchema
  for (const seg of segs) {
    if (s === undefined) return undefined
    s = childSchema(s, seg)
  }
  return s
}

function childSchema (s: TSchema, seg: string | number): TSchema | undefined {
  if (Array.isArray(s.anyOf)) {
    for (const member of s.anyOf as TSchema[]) {
      const found = childSchema(member, seg)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (s.type === 'array') return typeof seg === 'number' ? s.items as TSchema : undefined
  if (s.type !== 'object' || typeof seg !== 'string') return undefined
  if (s.properties !== undefined && Object.hasOwn(s.properties, seg)) return s.properties[seg] as TSchema
  if (s.patternProperties !== undefined) return Object.values(s.patternProperties)[0] as TSchema
  return undefined
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
