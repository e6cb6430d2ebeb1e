/**
 * `npm run bench:dashboard -- [--minutes N] [--screenshot FILE]`: the dashboard left open under
 * load. Starts four demo backends (answering in about 1, 3 and 8 ms, and one that is down), the
 * gateway (dist/server.js) with a 1,000-backend second pool, a steady ~300 req/s of traffic, and
 * Chromium (playwright-core, /usr/bin/chromium or $CHROMIUM) on the page. Every minute it
 * prints the page's JS heap and DOM node count (after a forced GC, over the DevTools protocol)
 * and the gateway's heap and RSS (from its /metrics), so a flat line shows the page and the
 * gateway keep their memory bounded. With --screenshot it saves the page at the end.
 *
 * Measures, never asserts (docs/dashboard.md has the figures).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'
import { startBackend } from '../demo/backend.js'
import { freePorts } from './gateway/config.js'
import { spawnGateway, stopChild, waitReady } from './gateway/gateway.js'
import { HOST, out } from './gateway/common.js'

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, screenshot: { type: 'string' } } })
const minutes = Number(values.minutes)
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`)

const backends = await Promise.all([1, 3, 8].map(async (delayMs, i) => await startBackend({ name: `app-${i + 1}`, delayMs })))
const [port, adminPort, dead] = await freePorts(3)
const dir = mkdtempSync(join(tmpdir(), 'ub-bench-dashboard-'))
const config = join(dir, 'gateway.yaml')
writeFileSync(config, `listen: { host: ${HOST}, port: ${port} }
admin: { host: ${HOST}, port: ${adminPort} }
log: { access: false }
store: { file: { path: ${join(dir, 'state.json')} } }
routes:
  - { match: { pathPrefix: /big }, pool: inventory }
  - { match: { pathPrefix: / }, pool: shop }
pools:
  shop:
    algorithm: least-connections
    healthCheck: { active: { path: /health, interval: 1s, timeout: 500ms } }
    backends:
${backends.map((b) => `      - url: http://${HOST}:${b.port}\n`).join('')}      - url: http://${HOST}:${dead}
  inventory:
    backends:
${Array.from({ length: 1000 }, (_, i) => `      - url: http://10.255.${Math.floor(i / 250)}.${(i % 250) + 1}:8080\n`).join('')}`)
const gateway = spawnGateway(config, join(dir, 'gateway.log'))
const url = `http://${HOST}:${port}`
const admin = `http://${HOST}:${adminPort}`
await waitReady(url + '/', gateway)

// Steady traffic: 30 requests every 100 ms over 8 keep-alive connections.
const agent = new Agent({ keepAlive: true, maxSockets: 8 })
let sent = 0
const running = { on: true }
const get = async (path: string): Promise<string> => await new Promise((resolve) => {
  const req = request(url + path, { agent }, (res) => { let b = ''; res.setEncoding('utf8'); res.on('data', (c: string) => { b += c }); res.on('end', () => { resolve(b) }) })
  req.on('error', () => { resolve('') })
  req.end()
})
const load = (async () => {
  while (running.on) {
    await Promise.all(Array.from({ length: 30 }, async () => { await get('/'); sent++ }))
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
})()

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--js-flags=--expose-gc'] })
const page = await browser.newPage({ viewport: { width: 1500, height: 1100 } })
const errors: string[] = []
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
page.on('pageerror', (e) => { errors.push(String(e)) })
await page.goto(admin + '/dashboard')
await page.waitForFunction(() => document.getElementById('conn')?.textContent === 'live')
const cdp = await page.context().newCDPSession(page)
await cdp.send('Performance.enable')

const metric = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)
out(`dashboard open for ${minutes} min under load; a line a minute`)
out('| minute | page JS heap MB | page DOM nodes | gateway heap MB | gateway RSS MB | req/s sent |')
out('|---|---|---|---|---|---|')
let before = sent
for (let m = 0; m <= minutes; m++) {
  if (m > 0) await new Promise((resolve) => setTimeout(resolve, 60_000))
  await cdp.send('HeapProfiler.collectGarbage')
  const perf = (await cdp.send('Performance.getMetrics')).metrics
  const of = (n: string): number => perf.find((x) => x.name === n)?.value ?? NaN
  const text = await get('/__none__').then(async () => await new Promise<string>((resolve) => {
    request(admin + '/metrics', (res) => { let b = ''; res.setEncoding('utf8'); res.on('data', (c: string) => { b += c }); res.on('end', () => { resolve(b) }) }).end()
  }))
  const rate = m === 0 ? 0 : (sent - before) / 60
  before = sent
  out(`| ${m} | ${(of('JSHeapUsedSize') / 1e6).toFixed(1)} | ${of('Nodes')} | ${(metric(text, 'nodejs_heap_size_used_bytes') / 1e6).toFixed(1)} | ${(metric(text, 'process_resident_memory_bytes') / 1e6).toFixed(1)} | ${rate.toFixed(0)} |`)
}
if (values.screenshot !== undefined) {
  await page.screenshot({ path: values.screenshot })
  out(`screenshot: ${values.screenshot}`)
}
out(`console errors on the page: ${errors.length}${errors.length > 0 ? ` (first: ${errors[0]})` : ''}`)
running.on = false
await load
await browser.close()
agent.destroy()
await stopChild(gateway)
await Promise.all(backends.map(async (b) => { await b.close() }))
rmSync(dir, { recursive: true, force: true })
