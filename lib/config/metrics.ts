/**
 * The `metrics` section: Prometheus (always on, served on the admin listener; optionally on
 * the client listener too), its histogram buckets, and an optional StatsD exporter.
 */
import { Type } from '@sinclair/typebox'
import type { MetricsConfig } from './types.js'
import { duration, int, isObj, section, str, bool, type Ctx, type Obj } from './fields.js'
import { DEFAULT_BUCKETS } from '../metrics/types.js'

const closed = { additionalProperties: false } as const
const Buckets = Type.Array(Type.Number({ exclusiveMinimum: 0 }), { minItems: 1, description: 'a list of bucket bounds in seconds, ascending' })

export const MetricsSchema = Type.Object({
  /** false: nothing is recorded and /metrics serves only the process metrics (for measuring the cost). */
  enabled: Type.Optional(Type.Boolean()),
  path: Type.Optional(Type.String({ pattern: '^/' })),
  /** Also serve the metrics on the client listener (at `path`), before routing. */
  onClientListener: Type.Optional(Type.Boolean()),
  buckets: Type.Optional(Buckets),
  backendBuckets: Type.Optional(Buckets),
  statsd: Type.Optional(Type.Object({
    host: Type.Optional(Type.String({ minLength: 1 })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    prefix: Type.Optional(Type.String()),
    tags: Type.Optional(Type.Record(Type.String(), Type.String())),
    dogstatsd: Type.Optional(Type.Boolean()),
    flushInterval: Type.Optional(Type.Union([Type.String(), Type.Number()]))
  }, closed))
}, closed)

export const METRICS_DEFAULTS = Object.freeze({
  path: '/metrics',
  statsd: Object.freeze({ host: '127.0.0.1', port: 8125, prefix: 'gateway.', flushInterval: 1_000 })
})

export function normaliseMetrics (ctx: Ctx, root: Obj): MetricsConfig {
  const m = section(root, 'metrics')
  const out: MetricsConfig = {
    enabled: bool(m, 'enabled', true),
    path: str(m, 'path', METRICS_DEFAULTS.path),
    onClientListener: bool(m, 'onClientListener', false),
    buckets: buckets(ctx, m, 'buckets'),
    backendBuckets: buckets(ctx, m, 'backendBuckets')
  }
  if (isObj(m.statsd)) {
    const s = m.statsd
    const d = METRICS_DEFAULTS.statsd
    out.statsd = {
      host: str(s, 'host', d.host),
      port: int(s, 'port', d.port),
      prefix: str(s, 'prefix', d.prefix),
      tags: isObj(s.tags) ? s.tags as Record<string, string> : {},
      dogstatsd: bool(s, 'dogstatsd', false),
      flushInterval: duration(ctx, s, 'flushInterval', ['metrics', 'statsd'], d.flushInterval, 1)
    }
  }
  return out
}

function buckets (ctx: Ctx, m: Obj, key: string): number[] {
  const v = m[key]
  if (!Array.isArray(v)) return [...DEFAULT_BUCKETS]
  const list = v as number[]
  for (let i = 1; i < list.length; i++) {
    if (list[i]! <= list[i - 1]!) {
      ctx.issues.add(['metrics', key, i], 'buckets must be in ascending order')
      break
    }
  }
  return [...list]
}
