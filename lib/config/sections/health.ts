/**
 * A pool's `healthCheck`: active probes (`active`) and passive outlier ejection (`passive`).
 * Each is off when left out and on with every default below when present, even empty. Checked
 * here as well: probes of one backend never overlap (timeout <= interval), each max is at least
 * its lower bound, and status ranges are not inverted.
 */
import { Type, type TSchema } from '@sinclair/typebox'
import { bool, duration, int, isObj, num, section, str, type Ctx, type Obj } from '../fields.js'
import { Bool, closed, Duration, Int, Method, RESILIENCE_DURATION_TEXT, Status } from '../schema-parts.js'

/** In normalised units (ms); expectStatus in its YAML form, parsed by the normaliser. */
export const HEALTH_DEFAULTS = Object.freeze({
  active: Object.freeze({
    type: 'http' as const,
    method: 'GET',
    path: '/health',
    expectStatus: '200-399',
    interval: 5_000,
    timeout: 2_000,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    initialState: 'healthy' as const,
    shared: false,
    backoff: Object.freeze({ initial: 1_000, max: 30_000, multiplier: 2, jitter: 0.2 })
  }),
  passive: Object.freeze({
    consecutiveFailures: 5,
    failureStatuses: Object.freeze([502, 503, 504]),
    baseEjectionTime: 30_000,
    maxEjectionTime: 300_000,
    maxEjectionPercent: 50
  })
})

const da = HEALTH_DEFAULTS.active
const dp = HEALTH_DEFAULTS.passive
const D = (def: number): TSchema => Type.Optional(Duration(def, RESILIENCE_DURATION_TEXT))
const StatusRange = Type.Union([Status, Type.String({ pattern: '^[1-5][0-9]{2}(-[1-5][0-9]{2})?$' })], { description: 'a status from 100 to 599 or a range like "200-399"' })

export const HealthCheckSchema = Type.Object({
  active: Type.Optional(Type.Object({
    type: Type.Optional(Type.Union([Type.Literal('http'), Type.Literal('tcp'), Type.Literal('grpc')], { default: da.type })),
    service: Type.Optional(Type.String()),
    method: Type.Optional(Method(da.method)),
    path: Type.Optional(Type.String({ pattern: '^/', default: da.path })),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    expectStatus: Type.Optional(Type.Union([StatusRange, Type.Array(StatusRange, { minItems: 1 })], { default: da.expectStatus, description: 'a status from 100 to 599 (e.g. 200), a range like "200-399", or a list of those' })),
    bodyMatch: Type.Optional(Type.String({ minLength: 1 })),
    interval: D(da.interval),
    timeout: D(da.timeout),
    healthyThreshold: Type.Optional(Int(1, 100, da.healthyThreshold)),
    unhealthyThreshold: Type.Optional(Int(1, 100, da.unhealthyThreshold)),
    initialState: Type.Optional(Type.Union([Type.Literal('healthy'), Type.Literal('unhealthy')], { default: da.initialState })),
    shared: Type.Optional(Bool(da.shared)),
    backoff: Type.Optional(Type.Object({
      initial: D(da.backoff.initial),
      max: D(da.backoff.max),
      multiplier: Type.Optional(Type.Number({ minimum: 1, maximum: 10, default: da.backoff.multiplier })),
      jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 1, default: da.backoff.jitter }))
    }, closed))
  }, closed)),
  passive: Type.Optional(Type.Object({
    consecutiveFailures: Type.Optional(Int(1, 1000, dp.consecutiveFailures)),
    failureStatuses: Type.Optional(Type.Array(Status, { default: dp.failureStatuses })),
    baseEjectionTime: D(dp.baseEjectionTime),
    maxEjectionTime: D(dp.maxEjectionTime),
    maxEjectionPercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100, default: dp.maxEjectionPercent }))
  }, closed))
}, closed)

/** Exponential backoff with jitter for probing unhealthy backends. */
export interface BackoffConfig {
  /** First delay after a backend turns unhealthy (ms). */
  initial: number
  /** Longest delay (ms). */
  max: number
  /** Each failed probe multiplies the delay by this (>= 1). */
  multiplier: number
  /** Each delay is moved by up to ±jitter of itself, at random (0..1). */
  jitter: number
}

export interface ActiveHealthConfig {
  /** grpc: grpc.health.v1.Health/Check over the pool's HTTP/2 connections (protocol: http2). */
  type: 'http' | 'tcp' | 'grpc'
  /** grpc only: the service asked about ("" : the server as a whole). */
  service: string
  /** http only: request method, path and headers (e.g. a Host header). */
  method: string
  path: string
  headers: Record<string, string>
  /** http only: accepted status ranges, e.g. [[200, 399]] from "200-399". */
  expectStatus: Array<[number, number]>
  /** http only: the body must contain this text (the first 64 KiB are read). */
  bodyMatch?: string
  /** Between probes of a healthy backend (ms); each wait is jittered by up to ±jitter. */
  interval: number
  /** One probe's deadline (ms). */
  timeout: number
  /** Consecutive passing probes that turn an unhealthy backend healthy. */
  healthyThreshold: number
  /** Consecutive failing probes that turn a healthy backend unhealthy. */
  unhealthyThreshold: number
  /** State of a backend before its first probe result: at startup and when added. */
  initialState: 'healthy' | 'unhealthy'
  /** In a fleet (store.etcd): each backend probed by one gateway, which publishes its transitions (lib/store/shared-health.ts). */
  shared: boolean
  /** Probing an unhealthy backend backs off; also sets the jitter of the healthy interval. */
  backoff: BackoffConfig
}

export interface PassiveHealthConfig {
  /** Consecutive failures (connect errors, timeouts, resets, failureStatuses) that eject. */
  consecutiveFailures: number
  /** Backend answers that count as failures. */
  failureStatuses: number[]
  /** An ejection lasts baseEjectionTime × (times ejected so far), capped by maxEjectionTime (ms). */
  baseEjectionTime: number
  maxEjectionTime: number
  /** Never more than this share of the pool ejected at once (percent, 0..100). */
  maxEjectionPercent: number
}

export interface HealthCheckConfig {
  /** undefined: no active checks (backends count as healthy). */
  active?: ActiveHealthConfig
  /** undefined: no passive ejection. */
  passive?: PassiveHealthConfig
}

/** `p`: the pool's mapping; `segs`: the pool's path. */
export function normaliseHealthCheck (ctx: Ctx, p: Obj, segs: string[]): HealthCheckConfig {
  const h = section(p, 'healthCheck')
  const out: HealthCheckConfig = {}
  if (isObj(h.active)) out.active = active(ctx, h.active, [...segs, 'healthCheck', 'active'])
  if (isObj(h.passive)) out.passive = passive(ctx, h.passive, [...segs, 'healthCheck', 'passive'])
  return out
}

function active (ctx: Ctx, a: Obj, segs: string[]): ActiveHealthConfig {
  const b = section(a, 'backoff')
  const cfg: ActiveHealthConfig = {
    type: a.type === 'tcp' || a.type === 'grpc' ? a.type : da.type,
    service: str(a, 'service', ''),
    method: str(a, 'method', da.method).toUpperCase(),
    path: str(a, 'path', da.path),
    headers: isObj(a.headers) ? a.headers as Record<string, string> : {},
    expectStatus: statusRanges(ctx, a.expectStatus ?? da.expectStatus, [...segs, 'expectStatus']),
    interval: duration(ctx, a, 'interval', segs, da.interval, 1),
    timeout: duration(ctx, a, 'timeout', segs, da.timeout, 1),
    healthyThreshold: int(a, 'healthyThreshold', da.healthyThreshold),
    unhealthyThreshold: int(a, 'unhealthyThreshold', da.unhealthyThreshold),
    initialState: a.initialState === 'unhealthy' ? 'unhealthy' : da.initialState,
    shared: bool(a, 'shared', da.shared),
    backoff: {
      initial: duration(ctx, b, 'initial', [...segs, 'backoff'], da.backoff.initial, 1),
      max: duration(ctx, b, 'max', [...segs, 'backoff'], da.backoff.max, 1),
      multiplier: num(b, 'multiplier', da.backoff.multiplier),
      jitter: num(b, 'jitter', da.backoff.jitter)
    }
  }
  if (typeof a.bodyMatch === 'string') cfg.bodyMatch = a.bodyMatch
  if (cfg.timeout > cfg.interval) ctx.issues.add([...segs, 'timeout'], 'must not be longer than interval (probes of one backend never overlap)')
  if (cfg.backoff.max < cfg.backoff.initial) ctx.issues.add([...segs, 'backoff', 'max'], 'must not be shorter than backoff.initial')
  return cfg
}

function passive (ctx: Ctx, p: Obj, segs: string[]): PassiveHealthConfig {
  const cfg: PassiveHealthConfig = {
    consecutiveFailures: int(p, 'consecutiveFailures', dp.consecutiveFailures),
    failureStatuses: Array.isArray(p.failureStatuses) ? p.failureStatuses as number[] : [...dp.failureStatuses],
    baseEjectionTime: duration(ctx, p, 'baseEjectionTime', segs, dp.baseEjectionTime, 1),
    maxEjectionTime: duration(ctx, p, 'maxEjectionTime', segs, dp.maxEjectionTime, 1),
    maxEjectionPercent: num(p, 'maxEjectionPercent', dp.maxEjectionPercent)
  }
  if (cfg.maxEjectionTime < cfg.baseEjectionTime) ctx.issues.add([...segs, 'maxEjectionTime'], 'must not be shorter than baseEjectionTime')
  return cfg
}

/** "200-399", 204, or a list of those, as inclusive [from, to] pairs; an inverted range is an issue. */
function statusRanges (ctx: Ctx, v: unknown, segs: Array<string | number>): Array<[number, number]> {
  const list = Array.isArray(v) ? v : [v]
  const out: Array<[number, number]> = []
  list.forEach((item: unknown, i) => {
    if (typeof item === 'number') out.push([item, item])
    else if (typeof item === 'string') {
      const [from, to] = item.split('-').map(Number) as [number, number | undefined]
      if (to !== undefined && to < from) ctx.issues.add(Array.isArray(v) ? [...segs, i] : segs, `"${item}" is an empty range; write the lower status first`)
      else out.push([from, to ?? from])
    }
  })
  return out
}
