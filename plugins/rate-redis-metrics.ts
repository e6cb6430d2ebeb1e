import type { FastifyInstance } from 'fastify'
import { Counter, Gauge } from 'prom-client'
import type { RedisRateStore } from '../lib/traffic/rate-redis.js'

/**
 * The metrics of shared rate limits (store.redis), and closing the Redis connection with the
 * app: `gateway_rate_limit_store_connected` (1 while counts go to Redis) and
 * `gateway_rate_limit_fallback_total` (requests counted by this gateway alone because Redis did
 * not answer).
 */
export function watchRedisRates (app: FastifyInstance, rates: RedisRateStore): void {
  const registers = [app.gatewayMetrics.prometheus.registry]
  // eslint-disable-next-line no-new
  new Gauge({ name: 'gateway_rate_limit_store_connected', help: 'Whether rate limits count in Redis, shared by the fleet (1), or in this gateway alone because Redis does not answer (0).', registers, collect () { this.set(rates.connected ? 1 : 0) } })
  const fallback = new Counter({ name: 'gateway_rate_limit_fallback_total', help: 'Requests whose rate limit was counted by this gateway alone because Redis did not answer (fail-open).', registers })
  rates.onFallback = () => { fallback.inc() }
  app.addHook('onClose', async () => { await rates.close() })
}
