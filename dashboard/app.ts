// The dashboard page (docs/dashboard.md). A plain script, no framework: it reads the gateway's
// Server-Sent Events stream (/dashboard/events) with fetch, so the admin token goes in an
// Authorization header (EventSource cannot send one, and a cookie would invite CSRF), and it
// calls the same admin API as any client for its actions. Everything it keeps is bounded: chart
// arrays at the gateway's history length, transitions at MAX_TRANSITIONS, one table row per
// backend the last frame had (rows of backends gone are removed).

interface Transition { at: number, pool: string, backend: string, kind: string, to: string, reason: string }
interface Instance { id: string, state: string, detail: string }
interface BackendRow { id: string, url: string, state: string, weight: number, effectiveWeight: number, inFlight: number, rps: number, errorRate: number, p50: number | null, p99: number | null, circuit: string, websockets: number, tcp: number }
interface Point { t: number, rps: number, errorRate: number, p50: number | null, p99: number | null }
interface PoolRow extends Omit<Point, 't'> { name: string, algorithm: string, ready: number, total: number, backends: BackendRow[] }
interface Frame { t: number, revision: number, instances: Instance[], pools: PoolRow[], transitions: Transition[] }
interface Hello { intervalMs: number, historyPoints: number, history: Record<string, Point[]>, transitions: Transition[], frame: Frame | null }

/** uPlot's global (its IIFE build, loaded before this script), under a constructor's name. */
const UPlot = uPlot
const MAX_TRANSITIONS = 50
const TOKEN_KEY = 'ultrabalancer-admin-token'
const STATE_WORDS: Record<string, string> = { healthy: 'healthy', unhealthy: 'unhealthy', ejected: 'ejected', draining: 'draining', disabled: 'disabled', open: 'circuit open' }

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T
let token = sessionStorage.getItem(TOKEN_KEY) ?? ''
let historyPoints = 900
let stream: AbortController | undefined

function el<K extends keyof HTMLElementTagNameMap> (tag: K, props: Record<string, string> = {}, text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(props)) e.setAttribute(k, v)
  if (text !== '') e.textContent = text
  return e
}

/** Sets text only when it changed: with 1,000 rows a second, untouched cells cost nothing. */
function put (e: HTMLElement, text: string): void {
  if (e.textContent !== text) e.textContent = text
}

function say (text: string, kind: 'ok' | 'error' | '' = ''): void {
  const m = $('message')
  m.textContent = text
  m.className = `message ${kind}`
}

const headers = (): Record<string, string> => token === '' ? {} : { authorization: `Bearer ${token}` }
const ms = (v: number | null): string => v === null ? '–' : `${v} ms`
const pct = (v: number): string => `${(v * 100).toFixed(1)}%`

// ---- charts: three per pool, uPlot, fed from the history and one point per frame ----

type Series = 'rps' | 'errors' | 'latency'
interface Chart { plot: uPlot, data: Array<Array<number | null>>, caption: HTMLElement, figure: HTMLElement, kind: Series }

function makeChart (kind: Series, parent: HTMLElement): Chart {
  const figure = el('figure', { 'data-chart': kind })
  const caption = el('figcaption')
  figure.append(caption)
  parent.append(figure)
  const series: uPlot.Series[] = [{}]
  if (kind === 'rps') series.push({ label: 'req/s', stroke: '#2563eb', width: 1.5 })
  if (kind === 'errors') series.push({ label: 'error %', stroke: '#dc2626', width: 1.5 })
  if (kind === 'latency') series.push({ label: 'p50 ms', stroke: '#059669', width: 1.5 }, { label: 'p99 ms', stroke: '#d97706', width: 1.5 })
  const data: Array<Array<number | null>> = series.map(() => [])
  const plot = new UPlot({ width: 330, height: 150, series, legend: { show: true, live: false }, cursor: { show: true }, scales: { x: { time: true } } }, data as uPlot.AlignedData, figure)
  return { plot, data, caption, figure, kind }
}

function addPoint (c: Chart, p: Point): void {
  // null, not NaN, is uPlot's gap: an interval with no request has no latency.
  const values = c.kind === 'rps' ? [p.rps] : c.kind === 'errors' ? [p.errorRate * 100] : [p.p50, p.p99]
  c.data[0].push(p.t / 1000)
  values.forEach((v, i) => c.data[i + 1].push(v))
  if (c.data[0].length > historyPoints) for (const a of c.data) a.splice(0, a.length - historyPoints)
}

/** The caption says the figures in words too (and carries them as data-now / data-peak). */
function caption (c: Chart): void {
  const last = c.data[1][c.data[1].length - 1] ?? null
  let peak = 0
  for (const s of c.data.slice(1)) for (const v of s) if (v !== null && v > peak) peak = v
  const unit = c.kind === 'rps' ? 'req/s' : c.kind === 'errors' ? '% errors' : 'ms (p50, p99)'
  const title = c.kind === 'rps' ? 'Requests per second' : c.kind === 'errors' ? 'Error rate' : 'Latency'
  put(c.caption, `${title}: now ${last === null ? '–' : last.toFixed(1)}, peak ${peak.toFixed(1)} ${unit}, last 15 min`)
  c.figure.dataset.now = String(last ?? 0)
  c.figure.dataset.peak = String(peak)
}

// ---- pools and backends ----

interface Row { tr: HTMLTableRowElement, cells: Record<string, HTMLElement>, toggle: HTMLButtonElement, weight: HTMLInputElement }
interface PoolView { section: HTMLElement, head: HTMLElement, charts: Chart[], rows: Map<string, Row>, tbody: HTMLElement, filter: HTMLInputElement }
const pools = new Map<string, PoolView>()
const COLUMNS = ['id', 'state', 'weight', 'inFlight', 'rps', 'errors', 'p50', 'p99', 'circuit', 'conns']

function poolView (name: string, history: Point[]): PoolView {
  let v = pools.get(name)
  if (v !== undefined) return v
  const section = el('section', { class: 'pool', 'data-pool': name })
  const head = el('h2')
  const charts = el('div', { class: 'charts' })
  const filter = el('input', { class: 'filter', type: 'search', placeholder: 'filter backends', 'aria-label': `filter the backends of ${name}` })
  const table = el('table')
  const thead = el('thead')
  const tr = el('tr')
  for (const h of ['backend', 'state', 'weight', 'in flight', 'req/s', 'errors', 'p50', 'p99', 'circuit', 'ws / tcp', 'actions']) tr.append(el('th', {}, h))
  thead.append(tr)
  const tbody = el('tbody')
  table.append(thead, tbody)
  const wrap = el('div', { class: 'table-wrap' })
  wrap.append(table)
  section.append(head, charts, filter, wrap)
  $('pools').append(section)
  v = { section, head, charts: (['rps', 'errors', 'latency'] as Series[]).map((k) => makeChart(k, charts)), rows: new Map(), tbody, filter }
  for (const p of history) for (const c of v.charts) addPoint(c, p)
  for (const c of v.charts) { c.plot.setData(c.data as uPlot.AlignedData); caption(c) }
  const view = v
  filter.addEventListener('input', () => { for (const [id, r] of view.rows) r.tr.classList.toggle('hidden', !id.includes(filter.value)) })
  pools.set(name, v)
  return v
}

function row (pool: string, v: PoolView, b: BackendRow): Row {
  let r = v.rows.get(b.id)
  if (r !== undefined) return r
  const tr = el('tr', { 'data-backend': b.id })
  const cells: Record<string, HTMLElement> = {}
  for (const c of COLUMNS) { cells[c] = el('td', { 'data-col': c }); tr.append(cells[c]) }
  cells.id.title = b.url
  const badge = el('span', { class: 'badge' })
  cells.state.append(badge)
  cells.stateBadge = badge
  const actions = el('td')
  const drain = el('button', { type: 'button', 'data-action': 'drain' }, 'Drain')
  const toggle = el('button', { type: 'button', 'data-action': 'toggle' }, 'Disable')
  const weight = el('input', { class: 'weight', type: 'number', min: '1', max: '10000', 'aria-label': `new weight of ${b.id}` })
  const set = el('button', { type: 'button', 'data-action': 'weight' }, 'Set weight')
  actions.append(drain, ' ', toggle, ' ', weight, ' ', set)
  tr.append(actions)
  tr.dataset.pool = pool
  v.tbody.append(tr)
  r = { tr, cells, toggle, weight }
  r.tr.classList.toggle('hidden', !b.id.includes(v.filter.value))
  v.rows.set(b.id, r)
  return r
}

function render (f: Frame): void {
  put($('revision'), String(f.revision))
  const seen = new Set<string>()
  for (const p of f.pools) {
    seen.add(p.name)
    const v = poolView(p.name, [])
    put(v.head, `${p.name} · ${p.algorithm} · ${p.ready} of ${p.total} ready · ${p.rps} req/s`)
    for (const c of v.charts) { addPoint(c, { ...p, t: f.t }); c.plot.setData(c.data as uPlot.AlignedData); caption(c) }
    const ids = new Set<string>()
    for (const b of p.backends) {
      ids.add(b.id)
      const r = row(p.name, v, b)
      put(r.cells.id, b.id)
      const badge = r.cells.stateBadge
      put(badge, STATE_WORDS[b.state] ?? b.state)
      const cls = `badge state-${b.state}`
      if (badge.className !== cls) badge.className = cls
      r.tr.dataset.state = b.state
      put(r.cells.weight, b.effectiveWeight === b.weight ? String(b.weight) : `${b.effectiveWeight} of ${b.weight}`)
      put(r.cells.inFlight, String(b.inFlight))
      put(r.cells.rps, String(b.rps))
      put(r.cells.errors, pct(b.errorRate))
      put(r.cells.p50, ms(b.p50))
      put(r.cells.p99, ms(b.p99))
      put(r.cells.circuit, b.circuit)
      put(r.cells.conns, `${b.websockets} / ${b.tcp}`)
      put(r.toggle, b.state === 'disabled' ? 'Enable' : 'Disable')
    }
    for (const [id, r] of v.rows) if (!ids.has(id)) { r.tr.remove(); v.rows.delete(id) }
  }
  for (const [name, v] of pools) {
    if (seen.has(name)) continue
    for (const c of v.charts) c.plot.destroy()
    v.section.remove()
    pools.delete(name)
  }
  const box = $('instances-box')
  box.hidden = f.instances.length === 0
  const tbody = $('instances')
  if (tbody.childElementCount !== f.instances.length) tbody.replaceChildren(...f.instances.map(() => el('tr')))
  f.instances.forEach((i, n) => {
    const tr = tbody.children[n] as HTMLElement
    if (tr.childElementCount !== 3) tr.replaceChildren(el('td'), el('td'), el('td'))
    put(tr.children[0] as HTMLElement, i.id)
    put(tr.children[1] as HTMLElement, i.state)
    put(tr.children[2] as HTMLElement, i.detail)
  })
  addTransitions(f.transitions)
}

function addTransitions (list: Transition[]): void {
  const ol = $('transitions')
  for (const t of list) {
    const time = new Date(t.at).toLocaleTimeString()
    ol.prepend(el('li', { 'data-to': t.to }, `${time} ${t.pool} ${t.backend} → ${t.to}${t.reason === '' ? '' : `: ${t.reason}`}`))
  }
  while (ol.childElementCount > MAX_TRANSITIONS) ol.lastElementChild?.remove()
}

// ---- the stream ----

function conn (text: string, kind: 'live' | 'down' | ''): void {
  const c = $('conn')
  c.textContent = text
  c.className = `conn ${kind}`
}

async function connect (): Promise<void> {
  stream?.abort()
  // The page says whether the admin listener has a token: with none entered, ask instead of
  // sending a request bound to fail.
  if (token === '' && document.body.dataset.token === 'required') {
    conn('no access', 'down')
    say('This gateway needs the admin token: enter it above.', 'error')
    return
  }
  const ctl = new AbortController()
  stream = ctl
  conn('connecting…', '')
  let res: Response
  try {
    res = await fetch('/dashboard/events', { headers: headers(), signal: ctl.signal, cache: 'no-store' })
  } catch {
    if (!ctl.signal.aborted) retry(ctl)
    return
  }
  if (res.status === 401) {
    conn('no access', 'down')
    say(token === '' ? 'This gateway needs the admin token: enter it above.' : 'The admin token was refused (401): check it and enter it again.', 'error')
    return
  }
  if (!res.ok || res.body === null) { retry(ctl); return }
  if ($('message').classList.contains('error')) say('')
  conn('live', 'live')
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buf = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buf += value
      let end: number
      while ((end = buf.indexOf('\n\n')) >= 0) {
        message(buf.slice(0, end))
        buf = buf.slice(end + 2)
      }
    }
  } catch {}
  if (!ctl.signal.aborted) retry(ctl)
}

function retry (ctl: AbortController): void {
  conn('disconnected, retrying', 'down')
  setTimeout(() => { if (stream === ctl) void connect() }, 2000)
}

function message (raw: string): void {
  let event = 'message'
  let data = ''
  for (const line of raw.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim()
    else if (line.startsWith('data:')) data += line.slice(5).trim()
  }
  if (data === '') return
  if (event === 'hello') {
    const h = JSON.parse(data) as Hello
    historyPoints = h.historyPoints
    for (const v of pools.values()) { for (const c of v.charts) c.plot.destroy(); v.section.remove() }
    pools.clear()
    $('transitions').replaceChildren()
    for (const [name, points] of Object.entries(h.history)) poolView(name, points)
    addTransitions(h.transitions)
    if (h.frame !== null) render({ ...h.frame, transitions: [] })
  } else if (event === 'frame') {
    render(JSON.parse(data) as Frame)
  }
}

// ---- actions: the admin API, with the same token ----

async function act (method: string, path: string, body: unknown, done: string): Promise<void> {
  const res = await fetch(path, { method, headers: { ...headers(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) })
  const answer = await res.json().catch(() => ({})) as { revision?: number, error?: string, message?: string }
  if (res.ok) say(`${done}${answer.revision === undefined ? '' : ` (revision ${answer.revision})`}`, 'ok')
  else if (res.status === 401) say('The admin token was refused (401): enter it above.', 'error')
  else say(`${res.status} ${answer.error ?? ''}: ${answer.message ?? res.statusText}`, 'error')
}

$('pools').addEventListener('click', (e) => {
  const button = (e.target as HTMLElement).closest('button[data-action]') as HTMLButtonElement | null
  const tr = button?.closest('tr')
  if (button === null || tr === null || tr === undefined) return
  const pool = tr.dataset.pool ?? ''
  const id = tr.dataset.backend ?? ''
  const at = `/admin/pools/${encodeURIComponent(pool)}/backends/${encodeURIComponent(id)}`
  const action = button.dataset.action
  if (action === 'drain') void act('POST', `${at}/drain`, undefined, `Draining ${pool}/${id}`)
  if (action === 'toggle') {
    const enable = tr.dataset.state === 'disabled'
    void act('PATCH', at, { enabled: enable }, `${enable ? 'Enabled' : 'Disabled'} ${pool}/${id}`)
  }
  if (action === 'weight') {
    const input = tr.querySelector('input.weight') as HTMLInputElement
    const weight = Number(input.value)
    if (!Number.isInteger(weight) || weight < 1 || weight > 10000) { say('A weight is a whole number from 1 to 10000.', 'error'); return }
    void act('PATCH', at, { weight }, `Weight of ${pool}/${id} set to ${weight}`)
  }
})

$('reload').addEventListener('click', () => { void act('POST', '/admin/config/reload', undefined, 'Config reloaded') })

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault()
  const input = $<HTMLInputElement>('token')
  token = input.value.trim()
  input.value = ''
  if (token === '') sessionStorage.removeItem(TOKEN_KEY)
  else sessionStorage.setItem(TOKEN_KEY, token)
  void connect()
})

void connect()
