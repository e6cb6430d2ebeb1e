/**
 * A pool's `retry`: always on (`attempts: 1` turns it off), for idempotent methods only, with
 * capped exponential backoff and a retry budget. POST and PATCH in `methods` are an error.
 * gRPC calls follow gRPC's rules instead (`grpcStatuses`, docs/resilience.md#grpc-retries).
 */
import { Type, type TSchema } from '@sinclair/typebox'
import { GRPC_CODE_NAMES, grpcCodeOf } from '../../grpc-codes.js'
import { duration, int, num, section, size, type Ctx, type Obj } from '../fields.js'
import { closed, Duration, Int, Method, RESILIENCE_DURATION_TEXT, Size, Status } from '../schema-parts.js'

/** In normalised units: durations in ms, sizes in bytes. */
export const RETRY_DEFAULTS = Object.freeze({
  attempts: 2,
  perTryTimeout: 0,
  backoff: Object.freeze({ base: 25, max: 250 }),
  statuses: Object.freeze([502, 503, 504]),
  methods: Object.freeze(['GET', 'HEAD', 'OPTIONS', 'TRACE']),
  maxReplayBody: 64 * 1024,
  // gRPC calls: only failures before the call reached a backend are retried unless listed.
  grpcStatuses: Object.freeze([] as string[]),
  budget: Object.freeze({ percent: 20, window: 10_000, minRetries: 10 })
})

const d = RETRY_DEFAULTS
const D = (def: number): TSchema => Type.Optional(Duration(def, RESILIENCE_DURATION_TEXT))

export const RetrySchema = Type.Object({
  attempts: Type.Optional(Int(1, 10, d.attempts)),
  perTryTimeout: D(d.perTryTimeout),
  backoff: Type.Optional(Type.Object({ base: D(d.backoff.base), max: D(d.backoff.max) }, closed)),
  statuses: Type.Optional(Type.Array(Status, { default: d.statuses })),
  methods: Type.Optional(Type.Array(Method(), { default: d.methods })),
  // The wording differs from Size()'s default; kept as it was (see RESILIENCE_DURATION_TEXT).
  maxReplayBody: Type.Optional(Size(d.maxReplayBody, 'a size (bytes, or 16kb, 1mb)')),
  grpcStatuses: Type.Optional(Type.Array(Type.Union(GRPC_CODE_NAMES.map((n) => Type.Literal(n)), { description: 'a gRPC status name (UNAVAILABLE, RESOURCE_EXHAUSTED, ...)' }), { default: d.grpcStatuses })),
  budget: Type.Optional(Type.Object({
    percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100, default: d.budget.percent })),
    window: D(d.budget.window),
    minRetries: Type.Optional(Int(0, 1_000_000, d.budget.minRetries))
  }, closed))
}, closed)

export interface RetryConfig {
  /** Tries in all, the first included (1: no retries). */
  attempts: number
  /** Deadline of one try until the answer's headers (ms), capped by timeouts.request; 0: timeouts.request alone. */
  perTryTimeout: number
  /** Capped exponential backoff with full jitter between tries (ms). */
  backoff: { base: number, max: number }
  /** Backend answers that are retried. */
  statuses: number[]
  /** Methods that may be retried. Default the idempotent GET, HEAD, OPTIONS, TRACE. */
  methods: string[]
  /** PUT/DELETE (if in methods) are retried only when their body is at most this many bytes (kept to replay); 0: only bodiless ones. */
  maxReplayBody: number
  /**
   * gRPC status codes (numbers, from the names in the config) after which a gRPC call is tried
   * again: a trailers-only answer with one of them, or a failure the gateway maps to one (reset:
   * UNAVAILABLE, try timeout: DEADLINE_EXCEEDED), before any answer headers reached the client.
   */
  grpcStatuses: number[]
  /** Retries stay under `percent` of requests over `window` (ms), with at least minRetries allowed. */
  budget: { percent: number, window: number, minRetries: number }
}

/** `p`: the pool's mapping; `segs`: the pool's path. */
export function normaliseRetry (ctx: Ctx, p: Obj, segs: string[]): RetryConfig {
  const r = section(p, 'retry')
  const at = [...segs, 'retry']
  const b = section(r, 'backoff')
  const g = section(r, 'budget')
  const cfg: RetryConfig = {
    attempts: int(r, 'attempts', d.attempts),
    perTryTimeout: duration(ctx, r, 'perTryTimeout', at, d.perTryTimeout, 0),
    backoff: { base: duration(ctx, b, 'base', [...at, 'backoff'], d.backoff.base, 0), max: duration(ctx, b, 'max', [...at, 'backoff'], d.backoff.max, 0) },
    statuses: Array.isArray(r.statuses) ? r.statuses as number[] : [...d.statuses],
    methods: Array.isArray(r.methods) ? (r.methods as string[]).map((m) => m.toUpperCase()) : [...d.methods],
    maxReplayBody: size(ctx, r, 'maxReplayBody', at, d.maxReplayBody, 0),
    grpcStatuses: (Array.isArray(r.grpcStatuses) ? r.grpcStatuses as string[] : d.grpcStatuses).map((n) => grpcCodeOf(n)!),
    budget: {
      percent: num(g, 'percent', d.budget.percent),
      window: duration(ctx, g, 'window', [...at, 'budget'], d.budget.window, 1),
      minRetries: int(g, 'minRetries', d.budget.minRetries)
    }
  }
  if (cfg.backoff.max < cfg.backoff.base) ctx.issues.add([...at, 'backoff', 'max'], 'must not be shorter than backoff.base')
  if (cfg.methods.includes('POST') || cfg.methods.includes('PATCH')) {
    ctx.issues.add([...at, 'methods'], 'POST and PATCH are not idempotent and are never retried; remove them')
  }
  return cfg
}
