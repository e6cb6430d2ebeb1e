/**
 * timeouts.request is a deadline for the whole request, across every try and backoff
 * (docs/resilience.md#deadlines); retry.perTryTimeout bounds one try inside it.
 *
 * Elapsed times are checked only against wide bounds (at least the deadline, well below the
 * attempts × timeout of per-try timing): tests do not assert tight timings. The figures measured
 * on the development machine are in the closing note.
 */
import t from 'tap'
import { performance } from 'node:perf_hooks'
import { poolYaml, send, startBackend, startGateway, deadUrl, errorBody } from './helpers/gateway.js'

/** A backend that takes requests and never answers them (the test's teardown ends them). */
const silent = (): (() => void) => () => {}

t.test('a 1 s request timeout over three silent backends: 504 at the deadline, one try each at most', async (t) => {
  const backends = await Promise.all(['a', 'b', 'c'].map(async (n) => await startBackend(t, n, silent())))
  const gw = await startGateway(t, poolYaml(backends, '',
    '    timeouts: { request: 1s }\n    retry: { attempts: 3, perTryTimeout: 400ms, backoff: { base: 1ms, max: 1ms } }\n'))
  const start = performance.now()
  const r = await send(gw.url + '/slow')
  const ms = performance.now() - start
  t.equal(r.status, 504)
  t.equal(errorBody(r.text).error, 'GW_UPSTREAM_TIMEOUT')
  t.ok(ms >= 990, `not before the deadline (${Math.round(ms)} ms)`)
  t.ok(ms < 2000, `at the deadline, not after three full tries (${Math.round(ms)} ms)`)
  for (const b of backends) t.ok(b.seen.length <= 1, `backend ${b.name} got at most one try (${b.seen.length})`)
  t.equal(backends.reduce((n, b) => n + b.seen.length, 0), 3, 'three tries: 400 + 400 + what was left')
})

t.test('without perTryTimeout the first try has the whole deadline and no retry follows', async (t) => {
  const backends = await Promise.all(['a', 'b', 'c'].map(async (n) => await startBackend(t, n, silent())))
  const gw = await startGateway(t, poolYaml(backends, '', '    timeouts: { request: 1s }\n    retry: { attempts: 3 }\n'))
  const start = performance.now()
  const r = await send(gw.url + '/')
  const ms = performance.now() - start
  t.equal(r.status, 504)
  t.ok(ms >= 990 && ms < 2000, `504 at the deadline (${Math.round(ms)} ms), not after 3 × 1 s`)
  t.equal(backends.reduce((n, b) => n + b.seen.length, 0), 1, 'one try: nothing was left for a second')
  const line = gw.logs.find((l) => l.msg === 'access')
  t.equal(line?.retries, 0, 'no retry was started at the deadline')
})

t.test('perTryTimeout still bounds one try inside the deadline: the third backend answers', async (t) => {
  const a = await startBackend(t, 'a', silent())
  const b = await startBackend(t, 'b', silent())
  const c = await startBackend(t, 'c')
  const gw = await startGateway(t, poolYaml([a, b, c], '',
    '    timeouts: { request: 5s }\n    retry: { attempts: 3, perTryTimeout: 150ms }\n'))
  const r = await send(gw.url + '/')
  t.equal(r.status, 200)
  t.equal(r.text, 'c')
  t.equal(a.seen.length + b.seen.length, 2, 'the two silent backends were each cut by perTryTimeout')
  t.equal(gw.logs.find((l) => l.msg === 'access')?.retries, 2)
})

t.test('a backoff longer than what is left is cut short: the retry still happens before the deadline', async (t) => {
  const dead = await deadUrl()
  const live = await startBackend(t, 'live')
  const gw = await startGateway(t, poolYaml([{ url: dead }, live], '',
    '    timeouts: { request: 800ms }\n    retry: { attempts: 2, backoff: { base: 60s, max: 60s } }\n'))
  // Round robin starts at the dead backend for the first request.
  const start = performance.now()
  const r = await send(gw.url + '/')
  const ms = performance.now() - start
  t.equal(r.status, 200, 'the retry went to the live backend within the deadline')
  t.equal(r.text, 'live')
  t.ok(ms < 1600, `the 60 s backoff was cut to half of what the deadline left (${Math.round(ms)} ms)`)
})

t.test('a streamed upload counts its try from the end of the upload', async (t) => {
  const echo = await startBackend(t, 'echo', (_req, res, body) => { res.end(String(body.length)) })
  const gw = await startGateway(t, poolYaml([echo], '', '    timeouts: { request: 300ms }\n'))
  // A POST is not retried, so its body streams; sent slowly, in 4 chunks over ~600 ms.
  const http = await import('node:http')
  const u = new URL(gw.url)
  const text = await new Promise<string>((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/up', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      let s = ''
      res.on('data', (c: Buffer) => { s += c.toString() })
      res.on('end', () => resolve(`${res.statusCode} ${s}`))
    })
    req.on('error', reject)
    let n = 0
    const tick = (): void => {
      req.write('x'.repeat(10))
      if (++n < 4) setTimeout(tick, 150)
      else req.end()
    }
    tick()
  })
  t.equal(text, '200 40', 'the upload took longer than the timeout, and was still answered')
})
