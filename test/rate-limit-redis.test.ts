// Shared rate limits (store.redis, lib/traffic/rate-redis.ts) with a real Redis: two gateways
// on one Redis share each client's count, so the limit holds across them; with Redis killed,
// each gateway falls back to its own counters (fail-open), logs it once and counts it.
import t from 'tap'
import { poolYaml, send, startBackend, startGateway } from './helpers/gateway.js'
import { redisMissing, startRedis } from './helpers/redis.js'
import { scrape } from './helpers/metrics.js'
import { waitFor } from './helpers/wait.js'

const MAX = 5

if (redisMissing !== undefined) {
  t.plan(0, redisMissing)
} else {
  t.test('two gateways on one Redis share a rate limit; Redis killed: each counts alone', async (t) => {
    const redis = await startRedis(t)
    const backend = await startBackend(t, 'a')
    const yaml = poolYaml([backend], `store: { redis: { url: "${redis.url}", prefix: "test:", timeout: 300ms } }
routes:
  - match: { pathPrefix: / }
    pool: web
    rateLimit: { max: ${MAX}, window: 1m, key: { header: x-client } }
`)
    const g1 = await startGateway(t, yaml)
    const g2 = await startGateway(t, yaml)
    const get = async (url: string, client: string): Promise<number> => (await send(url + '/', { headers: { 'x-client': client } })).status
    // ioredis connects after the start; a count made before that falls back by design (fail-open).
    for (const g of [g1, g2]) await waitFor(async () => (await scrape(g.app)).value('gateway_rate_limit_store_connected') === 1, { message: 'the gateway is connected to Redis', timeoutMs: 10_000 })

    const statuses: number[] = []
    for (let i = 0; i < MAX; i++) statuses.push(await get(i % 2 === 0 ? g1.url : g2.url, 'alice'))
    t.same(statuses, Array(MAX).fill(200), `${MAX} requests over the two gateways pass`)
    t.equal(await get(g1.url, 'alice'), 429, 'the next one is refused on gateway 1')
    t.equal(await get(g2.url, 'alice'), 429, 'and on gateway 2: the count is the fleet\'s, not each gateway\'s')
    t.equal(await get(g2.url, 'bob'), 200, 'another client has its own count')

    await redis.stop()
    const after: number[] = []
    for (let i = 0; i < MAX + 2; i++) after.push(await get(g1.url, 'carol'))
    t.same(after, [...Array(MAX).fill(200), 429, 429], 'Redis gone: gateway 1 still limits, with its own counters')
    t.equal(await get(g2.url, 'carol'), 200, 'gateway 2 counts carol alone: fail-open per gateway')
    await waitFor(() => g1.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('Redis does not answer')), { message: 'the fallback is logged' })
    const down = g1.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('Redis does not answer'))
    t.equal(down.length, 1, 'the fallback is logged once')
    const m = await scrape(g1.app)
    t.equal(m.value('gateway_rate_limit_store_connected'), 0)
    t.equal(m.value('gateway_rate_limit_fallback_total'), MAX + 2, 'every request counted locally is counted in the metric')
  })
}
