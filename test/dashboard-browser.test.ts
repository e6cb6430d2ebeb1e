// The dashboard in a real browser (playwright-core driving Debian's Chromium) against a real
// gateway (dist/server.js) with real backends: the page loads with no console errors, asks for
// the token, refuses a wrong one with a message, shows live data with the right one, its charts
// show the traffic the test sent, a backend the test kills turns unhealthy on the page within
// 3 s (the issue's bound), the Drain and weight controls act through the admin API, and a pool of
// 1,000 backends renders and filters.
import t from 'tap'
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import { send, startBackend, type TestBackend } from './helpers/gateway.js'
import { configFile, run } from './helpers/process.js'
import { waitFor } from './helpers/wait.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answer fields freely
type Json = any

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const TOKEN = 'dashboard-test-token-0123456789'

if (!existsSync(CHROMIUM)) {
  t.plan(0, `no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`)
} else {
  t.setTimeout(120_000)
  t.test('the dashboard, driven in Chromium', async (t) => {
    const backends: TestBackend[] = []
    for (const name of ['a', 'b', 'c']) backends.push(await startBackend(t, name))
    const [a, b, c] = backends.map((x) => ({ backend: x, id: `127.0.0.1:${x.port}` }))
    // 1,000 backends on ports nothing listens on: no health checks, no traffic; only the page's size matters.
    const big = Array.from({ length: 1000 }, (_, i) => `      - url: http://127.0.0.1:${21000 + i}\n`).join('')
    const dir = t.testdir()
    const r = run(['--config', configFile(dir, `listen: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0, token: ${TOKEN} }
routes:
  - { match: { pathPrefix: /big }, pool: big }
  - { match: { pathPrefix: / }, pool: web }
pools:
  web:
    healthCheck:
      active: { path: /, interval: 200ms, timeout: 200ms, healthyThreshold: 1, unhealthyThreshold: 1 }
    backends:
${backends.map((x) => `      - url: ${x.url}\n`).join('')}  big:
    backends:
${big}`)])
    t.teardown(async () => {
      if (r.child.exitCode !== null || r.child.signalCode !== null) return
      r.child.kill('SIGTERM')
      await r.exit
    })
    const ready = await r.readyLine
    const gateway = `http://127.0.0.1:${ready.port as number}`
    const admin = `http://127.0.0.1:${ready.adminPort as number}`
    const api = async (path: string): Promise<Json> => JSON.parse((await send(admin + path, { headers: { authorization: `Bearer ${TOKEN}` } })).text)

    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'] })
    t.teardown(async () => { await browser.close() })
    const page: Page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    /** Console errors and uncaught exceptions, by the step they happened in. */
    const errors: Array<{ step: string, text: string }> = []
    let step = 'load'
    page.on('console', (m) => { if (m.type() === 'error') errors.push({ step, text: m.text() }) })
    page.on('pageerror', (e) => { errors.push({ step, text: String(e) }) })

    const res = await page.goto(admin + '/dashboard')
    t.equal(res?.status(), 200, 'GET /dashboard answers 200')
    t.match(res?.headers()['content-security-policy'] ?? '', /script-src 'self'/, 'served with a strict CSP')
    await page.waitForFunction(() => document.getElementById('message')?.textContent?.includes('needs the admin token') === true)
    t.pass('with no token entered, the page asks for it')

    // A wrong token: the stream answers 401 (Chromium logs that failed load), the page says so.
    step = 'wrong token'
    await page.fill('#token', 'not-the-token')
    await page.click('#token-form button[type=submit]')
    await page.waitForFunction(() => document.getElementById('message')?.textContent?.includes('refused') === true)
    t.match(await page.textContent('#message'), /admin token was refused/, 'a wrong token is refused on the page, in words')
    t.equal(await page.$$eval('tr[data-backend]', (rows) => rows.length), 0, 'and no data is shown')

    step = 'live'
    await page.fill('#token', TOKEN)
    await page.click('#token-form button[type=submit]')
    await page.waitForFunction(() => document.getElementById('conn')?.textContent === 'live')
    await page.waitForSelector(`section[data-pool="web"] tr[data-backend="${c.id}"]`)
    t.equal(await page.$$eval('section[data-pool="web"] tr[data-backend]', (rows) => rows.length), 3, 'the three backends of pool web are listed')
    t.match(await page.textContent('section[data-pool="web"] h2'), /web · round-robin · [0-3] of 3 ready/, 'the pool shows its algorithm and ready count (a loaded machine may fail a 200 ms probe)')

    // Traffic: 20 requests every 100 ms for 3 s; the request-rate chart and the table show it.
    for (let i = 0; i < 30; i++) {
      await Promise.all(Array.from({ length: 20 }, async () => await send(gateway + '/')))
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await page.waitForFunction(() => Number((document.querySelector('section[data-pool="web"] figure[data-chart="rps"]') as HTMLElement | null)?.dataset.peak ?? 0) > 10)
    const peak = Number(await page.getAttribute('section[data-pool="web"] figure[data-chart="rps"]', 'data-peak'))
    t.ok(peak > 10, `the request-rate chart shows the traffic (peak ${peak} req/s)`)
    const latency = await page.getAttribute('section[data-pool="web"] figure[data-chart="latency"]', 'data-peak')
    t.ok(Number(latency) > 0, `the latency chart has points (peak ${latency} ms)`)

    // Kill backend a: the health checks (every 200 ms) mark it down; the page shows it within 3 s.
    step = 'kill'
    a.backend.server.closeAllConnections()
    a.backend.server.close()
    const killed = Date.now()
    await page.waitForFunction((id) => (document.querySelector(`section[data-pool="web"] tr[data-backend="${id}"]`) as HTMLElement | null)?.dataset.state === 'unhealthy', a.id, { timeout: 3000 })
    t.pass(`backend a shows unhealthy on the page ${Date.now() - killed} ms after it was killed`)
    t.equal(await page.textContent(`tr[data-backend="${a.id}"] [data-col="state"]`), 'unhealthy', 'the state is a word, not only a colour')
    await page.waitForFunction((id) => [...document.querySelectorAll('#transitions li')].some((li) => li.textContent?.includes(id) === true && li.textContent.includes('unhealthy')), a.id)
    t.pass('the transition is in the latest transitions, with its reason')

    // Drain b with its button: the admin API says it is draining.
    step = 'actions'
    await page.click(`tr[data-backend="${b.id}"] button[data-action="drain"]`)
    await waitFor(async () => (await api('/admin/pools/web')).backends.find((x: Json) => x.id === b.id)?.state === 'draining', { message: 'the drain button drained backend b' })
    t.pass('the Drain button drained backend b (GET /admin/pools/web)')
    await page.waitForFunction((id) => (document.querySelector(`tr[data-backend="${id}"]`) as HTMLElement | null)?.dataset.state === 'draining', b.id)
    await page.fill(`tr[data-backend="${c.id}"] input.weight`, '7')
    await page.click(`tr[data-backend="${c.id}"] button[data-action="weight"]`)
    await waitFor(async () => (await api('/admin/pools/web')).backends.find((x: Json) => x.id === c.id)?.weight === 7, { message: 'the weight control set backend c to 7' })
    t.pass('the weight control changed backend c to 7')
    const history = await api('/admin/config/history')
    t.ok(JSON.stringify(history).includes(`drained backend web/${b.id}`), 'the page\'s actions are in the admin history like any other')

    // 1,000 backends: all listed; the filter narrows them.
    t.equal(await page.$$eval('section[data-pool="big"] tr[data-backend]', (rows) => rows.length), 1000, 'a pool of 1,000 backends is listed whole')
    await page.fill('section[data-pool="big"] input.filter', ':21999')
    t.equal(await page.$$eval('section[data-pool="big"] tr[data-backend]:not(.hidden)', (rows) => rows.length), 1, 'the filter finds one backend among 1,000')

    if (process.env.DASHBOARD_SCREENSHOT !== undefined) await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: false })
    const unexpected = errors.filter((e) => !(e.step === 'wrong token' && /401/.test(e.text)))
    t.same(unexpected, [], 'no console errors or exceptions (but the refused load of the wrong-token step)')
  })
}
