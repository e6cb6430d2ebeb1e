/**
 * `metrics`: Prometheus (always on, served on the admin listener; optionally on the client
 * listener too), its histogram buckets, and an optional StatsD exporter.
 *
 * DEFAULT_BUCKETS lives here, not in lib/metrics/: config is the lower layer, and lib/metrics
 * (which imports the pool, which imports config) re-exports it from here.
 */
import { Type, type TSchema } from '@sinclair/typebox'
import { bool, duration, int, isObj, str, type Ctx, type Obj } from '../fields.js'
import { closed } from '../schema-parts.js'

/**
 * Default histogram buckets in seconds: 1 ms to 30 s. A plain array, as it always was (its type
 * is MetricsConfig's number[]); the normaliser hands out copies, never this one.
 */
export const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** `statsd` itself has no default (no StatsD exporter); these apply inside it. */
export const METRICS_DEFAULTS = Object.freeze({
  enabled: true,
  path: '/metrics',
  onClientListener: false,
  buckets: DEFAULT_BUCKETS,
  backendBuckets: DEFAULT_BUCKETS,
  grpcMethods: false,
  statsd: Object.freeze({ host: '127.0.0.1', port: 8125, prefix: 'gateway.', dogstatsd: false, flushInterval: 1_000 })
})

const d = METRICS_DEFAULTS
const Buckets = (def: readonly number[]): TSchema => Type.Array(Type.Number({ exclusiveMinimum: 0 }), {
  minItems: 1, default: def, description: 'a list of bucket bounds in seconds, ascending'
})

export const MetricsSchema = Type.Object({
  /** false: nothing is recorded and /metrics serves only the process metrics (for measuring the cost). */
  enabled: Type.Optional(Type.Boolean({ default: d.enabled })),
  path: Type.Optional(Type.String({ pattern: '^/', default: d.path })),
  /** Also serve the metrics on the client listener (at `path`), before routing. */
  onClientListener: Type.Optional(Type.Boolean({ default: d.onClientListener })),
  buckets: Type.Optional(Buckets(d.buckets)),
  backendBuckets: Type.Optional(Buckets(d.backendBuckets)),
  /** Label gRPC call counts by service and method too (bounded: lib/metrics/grpc-labels.ts). */
  grpcMethods: Type.Optional(Type.Boolean({ default: d.grpcMethods })),
  statsd: Type.Optional(Type.Object({
    host: Type.Optional(Type.String({ minLength: 1, default: d.statsd.host })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: d.statsd.port })),
    prefix: Type.Optional(Type.String({ default: d.statsd.prefix })),
    tags: Type.Optional(Type.Record(Type.String(), Type.String())),
    dogstatsd: Type.Optional(Type.Boolean({ default: d.statsd.dogstatsd })),
    // TODO: no description, so a wrong type reads "expected a mapping"; Duration() from
    // schema-parts.ts would fix the message (left as is: this change moves code, not messages).
    flushInterval: Type.Optional(Type.Union([Type.String(), Type.Number()], { default: d.statsd.flushInterval }))
  }, closed))
}, closed)

export interface StatsdConfig {
  host: string
  port: number
  /** Prepended to every metric name, e.g. "gateway.". */
  prefix: string
  /** Sent on every metric as DogStatsD tags when dogstatsd is on. */
  tags: Record<string, string>
  dogstatsd: boolean
  /** How often gauges are sent and buffered packets flushed (ms). */
  flushInterval: number
}

export interface MetricsConfig {
  /** false: the request path records nothing (gateway_* metrics stay empty); for measuring the cost. */
  enabled: boolean
  /** Path of the Prometheus endpoint on the admin listener (and the client one when enabled). */
  path: string
  onClientListener: boolean
  /** Buckets (seconds) of gateway_request_duration_seconds and gateway_backend_response_seconds. */
  buckets: number[]
  backendBuckets: number[]
  /** gateway_grpc_requests_total also has grpc_service and grpc_method labels (at most MAX_GRPC_METHODS series sets). */
  grpcMethods: boolean
  /** undefined: no StatsD exporter. */
  statsd?: StatsdConfig
}

export function normaliseMetrics (ctx: Ctx, m: Obj): MetricsConfig {
  const out: MetricsConfig = {
    enabled: bool(m, 'enabled', d.enabled),
    path: str(m, 'path', d.path),
    onClientListener: bool(m, 'onClientListener', d.onClientListener),
    buckets: buckets(ctx, m, 'buckets', d.buckets),
    backendBuckets: buckets(ctx, m, 'backendBuckets', d.backendBuckets),
    grpcMethods: bool(m, 'grpcMethods', d.grpcMethods)
  }
  if (isObj(m.statsd)) {
    const s = m.statsd
    out.statsd = {
      host: str(s, 'host', d.statsd.host),
      port: int(s, 'port', d.statsd.port),
      prefix: str(s, 'prefix', d.statsd.prefix),
      tags: isObj(s.tags) ? s.tags as Record<string, string> : {},
      dogstatsd: bool(s, 'dogstatsd', d.statsd.dogstatsd),
      flushInterval: duration(ctx, s, 'flushInterval', ['metrics', 'statsd'], d.statsd.flushInterval, 1)
    }
  }
  return out
}

/** A copy of the list (or of the default); a list not strictly ascending is an issue. */
function buckets (ctx: Ctx, m: Obj, key: string, def: readonly number[]): number[] {
  const v = m[key]
  if (!Array.isArray(v)) return [...def]
  const list = v as number[]
  for (let i = 1; i < list.length; i++) {
    if (list[i]! <= list[i - 1]!) {
      ctx.issues.add(['metrics', key, i], 'buckets must be in ascending order')
      break
    }
  }
  return [...list]
}
