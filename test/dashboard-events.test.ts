// The dashboard's routes on the admin listener (routes/dashboard.ts), without a browser: the
// page and its assets (CSP, cache headers, revalidation, versioned names), the token rule on the
// data, and the event stream over a real socket: a `hello` with the history, then frames that
// are the same bytes for every open page, with the traffic the test sent; closed streams leave
// no subscriber behind. With workers, the primary's page lists them and shows their traffic.
import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { poolYaml, send, startBackends, startGateway } from './helpers/gateway.js'
import { waitFor } from './helpers/wait.js'
import { start as startWorkers, spread } from './helpers/workers.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answer fields freely
type Json = any

const TOKEN = 'events-test-token-0123456789'

/** An open event stream: the SSE messages read so far, parsed. */
interface Stream { messages: Array<{ event: string, data: string }>, close: () => void, status: number }

async function openStream (url: string, token: string): Promise<Stream> {
  return await new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      const s: Stream = { messages: [], close: () => { req.destroy() }, status: res.statusCode ?? 0 }
      let buf = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buf += chunk
        let end: number
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const raw = buf.slice(0, end)
          buf = buf.slice(end + 2)
          const event = /^event: (.*)$/m.exec(raw)?.[1] ?? ''
          const data = /^data: (.*)$/m.exec(raw)?.[1] ?? ''
          s.messages.push({ event, data })
        }
      })
      res.on('error', () => {})
      resolve(s)
    })
    req.on('error', reject)
  })
}

t.test('page, assets and the token rule', async (t) => {
  const gw = await startGateway(t, `admin: { host: 127.0.0.1, port: 0, token: ${TOKEN} }\n` + poolYaml(await startBackends(t, 2)))
  const admin = gw.app.adminServer
  const page = await admin.inject({ url: '/dashboard' })
  t.equal(page.statusCode, 200, 'the page is open: it carries no data')
  t.match(page.headers['content-security-policy'], /default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'/, 'strict CSP')
  t.equal(page.headers['cache-control'], 'no-cache', 'the page is revalidated')
  t.notMatch(page.body, /<script>|<style>|style=/, 'no inline script or style')
  t.match(page.body, /data-token="required"/, 'the page says a token is needed')
  const again = await admin.inject({ url: '/dashboard', headers: { 'if-none-match': String(page.headers.etag) } })
  t.equal(again.statusCode, 304, 'If-None-Match with its ETag: 304')

  const assets = [...page.body.matchAll(/(?:src|href)="(\/dashboard\/assets\/[^"]+)"/g)].map((m) => m[1])
  t.same(assets.map((a) => a.replace(/\?v=.*/, '')).sort(), ['/dashboard/assets/app.css', '/dashboard/assets/app.js', '/dashboard/assets/uPlot.min.css', '/dashboard/assets/uPlot.min.js'], 'four assets, named with a version')
  for (const a of assets) {
    const r = await admin.inject({ url: a })
    t.equal(r.statusCode, 200, `${a} is served`)
    t.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable', `${a} is cached: its name changes with its content`)
    t.match(r.headers['content-type'], a.includes('.js') ? /^text\/javascript/ : /^text\/css/)
  }
  const missing = await admin.inject({ url: '/dashboard/assets/nope.js' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().error, 'GW_ADMIN_NOT_FOUND', 'an unknown asset: 404 from the catalogue')

  const refused = await admin.inject({ url: '/dashboard/events' })
  t.equal(refused.statusCode, 401, 'the data needs the token')
  t.equal(refused.json().error, 'GW_ADMIN_UNAUTHORIZED')
  const wrong = await admin.inject({ url: '/dashboard/events', headers: { authorization: 'Bearer wrong' } })
  t.equal(wrong.statusCode, 401, 'a wrong token too')
})

t.test('the stream: hello, then the same frame for every page, with the traffic', async (t) => {
  const gw = await startGateway(t, `admin: { host: 127.0.0.1, port: 0, token: ${TOKEN} }\n` + poolYaml(await startBackends(t, 2)))
  await gw.app.adminServer.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(gw.app.adminServer.server.address() as AddressInfo).port}/dashboard/events`
  const pages = [await openStream(url, TOKEN), await openStream(url, TOKEN), await openStream(url, TOKEN)]
  t.teardown(() => { for (const p of pages) p.close() })
  t.same(pages.map((p) => p.status), [200, 200, 200])
  await waitFor(() => pages.every((p) => p.messages.length >= 1), { message: 'hello on every stream' })
  const hello = JSON.parse(pages[0].messages[0].data) as Json
  t.equal(pages[0].messages[0].event, 'hello', 'the first message is hello')
  t.equal(hello.historyPoints, 900, '15 minutes of one-second points are kept')
  t.equal(hello.intervalMs, 1000)

  const sent = 40
  for (let i = 0; i < sent; i++) await send(gw.url + '/')
  // Frames of the same instant must be the same bytes on every page: computed once.
  const withTraffic = (p: typeof pages[0]): Json[] => p.messages.filter((m) => m.event === 'frame').map((m) => JSON.parse(m.data) as Json).filter((f) => f.pools[0].rps > 0)
  await waitFor(() => pages.every((p) => withTraffic(p).length >= 1), { message: 'a frame with traffic on every page', timeoutMs: 10_000 })
  const frames = pages.map((p) => p.messages.filter((m) => m.event === 'frame'))
  const common = frames[0].map((m) => m.data).filter((d) => frames[1].some((m) => m.data === d) && frames[2].some((m) => m.data === d))
  t.ok(common.length >= 1, 'the three pages got byte-identical frames')
  const counted = pages[0].messages.filter((m) => m.event === 'frame').map((m) => JSON.parse(m.data) as Json)
  const busy = new Set(counted.flatMap((f) => f.pools[0].backends.filter((b: Json) => b.rps > 0).map((b: Json) => b.id)))
  t.equal(busy.size, 2, 'both backends\' request rates show the traffic (round-robin)')
  const pool = counted.find((f) => f.pools[0].rps > 0).pools[0]
  t.match(pool, { name: 'web', algorithm: 'round-robin', ready: 2, total: 2 }, 'the pool row')
  t.ok(pool.p50 > 0 && pool.p99 >= pool.p50, `latency percentiles (p50 ${pool.p50} ms, p99 ${pool.p99} ms)`)

  for (const p of pages) p.close()
  await waitFor(() => gw.app.dashboard.subscriberCount === 0, { message: 'closed streams unsubscribe' })
  t.pass('no subscriber is left once the pages are closed')
})

t.test('with workers: the primary lists them and shows the traffic they served', async (t) => {
  const gw = await startWorkers(t, await startBackends(t, 2))
  const page = await openStream(`${gw.admin}/dashboard/events`, '')
  t.teardown(() => { page.close() })
  const frames = (): Json[] => page.messages.filter((m) => m.event === 'frame').map((m) => JSON.parse(m.data) as Json)
  await waitFor(() => frames().some((f) => f.instances.length === 2), { message: 'a frame listing the two workers', timeoutMs: 15_000 })
  const f = frames().find((x) => x.instances.length === 2)
  t.same(f.instances.map((i: Json) => i.id).sort(), ['worker 1', 'worker 2'], 'both workers are listed')
  await spread(gw.url, 60)
  await waitFor(() => frames().some((x) => x.pools[0].rps > 0), { message: 'the workers\' requests reach the primary\'s page', timeoutMs: 15_000 })
  t.pass('requests the workers served show in the primary\'s rates')
})
