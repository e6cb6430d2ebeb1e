import { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import { RateCounters, type CountResult, type RateStore } from './rate-counters.js'

/**
 * Counts one request in a fixed window shared by every gateway of the fleet: INCR, and on the
 * window's first request PEXPIRE, in one script so the two cannot be split by a crash; answers
 * the count and the ms left. The same windows as RateCounters (a key's window starts at its
 * first request).
 */
const INCR_SCRIPT = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { current, ttl }`

export interface RedisRateOptions {
  url: string
  /** Prepended to every key, so several fleets can share one Redis. */
  prefix: string
  /** A count Redis has not answered within this is made locally instead. */
  timeoutMs: number
  logger: FastifyBaseLogger
}

/**
 * The rate limiter's store with `store.redis` (docs/config-store.md, "Redis"): every gateway of
 * the fleet counts in Redis, so a limit of 100 per second is 100 for the fleet, not per gateway.
 *
 * Fail-open: while Redis does not answer (down, unreachable, slower than timeoutMs), each request
 * is counted in this gateway's own counters instead, so the limit holds per gateway and nothing
 * is refused for want of Redis. The switch is logged once each way and every fallback is
 * counted. ioredis reconnects by itself with backoff; its offline queue is off, so a count never
 * waits for a reconnection.
 */
export class RedisRateStore implements RateStore {
  private readonly redis: Redis
  private readonly local = new RateCounters()
  private down = false
  /** Hears each request counted locally because Redis could not (gateway_rate_limit_fallback_total; set once metrics exist). */
  onFallback: () => void = () => {}

  constructor (private readonly opts: RedisRateOptions) {
    this.redis = new Redis(opts.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.timeoutMs,
      connectTimeout: Math.max(1000, opts.timeoutMs),
      retryStrategy: (times) => Math.min(2000, 100 * 2 ** Math.min(times, 5)),
      lazyConnect: false
    })
    this.redis.defineCommand('ubRateIncr', { numberOfKeys: 1, lua: INCR_SCRIPT })
    // ioredis emits every connection error; the fallback below logs the switch once.
    this.redis.on('error', () => {})
    this.redis.on('ready', () => {
      if (this.down) {
        this.down = false
        this.opts.logger.info('Redis answers again: rate limits are shared by the fleet again')
      }
    })
  }

  /** Whether the last count went to Redis (gateway_rate_limit_store_connected). */
  get connected (): boolean { return !this.down && this.redis.status === 'ready' }

  incr (key: string, cb: (err: Error | null, res: CountResult) => void, timeWindow = 60_000): void {
    const r = this.redis as Redis & { ubRateIncr: (key: string, window: number) => Promise<[number, number]> }
    r.ubRateIncr(this.opts.prefix + key, timeWindow).then(([current, ttl]) => {
      cb(null, { current, ttl })
    }, (err: unknown) => {
      if (!this.down) {
        this.down = true
        this.opts.logger.error({ reason: (err as Error).message }, 'Redis does not answer: rate limits fall back to each gateway\'s own counters until it does')
      }
      this.onFallback()
      this.local.incr(key, cb, timeWindow)
    })
  }

  child (): this {
    return this
  }

  get ctor (): new () => RedisRateStore {
    const self = this
    return function RedisCounters () { return self } as unknown as new () => RedisRateStore
  }

  async close (): Promise<void> {
    this.redis.disconnect()
  }
}
