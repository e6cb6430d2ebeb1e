import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { DashboardSampler } from '../lib/dashboard/sampler.js'
import { tokenCheck } from './admin.js'
import { GatewayError } from '../lib/errors.js'
import { replyError } from '../lib/http/error-reply.js'

export interface DashboardRoutesOptions {
  sampler: DashboardSampler
  /** The admin token ("" = none): the event stream needs it exactly as /admin does. */
  token: string
}

interface Asset { body: Buffer, type: string, etag: string }

// The page's own files are built next to the compiled routes (dashboard/build.mjs writes
// <out>/dashboard/); uPlot's come from its package.
const here = new URL('../dashboard/', import.meta.url)
const uplot = createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js')
const FILES: Record<string, { path: string | URL, type: string }> = {
  'app.js': { path: new URL('app.js', here), type: 'text/javascript; charset=utf-8' },
  'app.css': { path: new URL('app.css', here), type: 'text/css; charset=utf-8' },
  'uPlot.min.js': { path: uplot, type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { path: uplot.replace(/uPlot\.iife\.min\.js$/, 'uPlot.min.css'), type: 'text/css; charset=utf-8' }
}

/**
 * No inline script or style, nothing from elsewhere: the page's scripts and styles are these
 * files, its data comes from this origin (fetch of /dashboard/events and /admin), and it cannot
 * be framed. uPlot sizes its elements through the CSSOM (element.style), which style-src allows.
 */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

function load (path: string | URL, type: string): Asset {
  const body = readFileSync(path)
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` }
}

/**
 * The live dashboard on the admin listener (docs/dashboard.md). `GET /dashboard` and its assets
 * carry no data and are open, so a browser can load them; the data (`GET /dashboard/events`, a
 * Server-Sent Events stream) and every action (the /admin API the page calls) need the admin
 * token when one is set, sent by the page as a bearer header: no cookie, so no CSRF.
 *
 * Assets are read once, at registration. The HTML names them with their ETag as a version, so
 * they are cached for a year (immutable) and a new build is fetched at once; the HTML itself is
 * revalidated (no-cache + ETag).
 */
export default async function dashboardRoutes (app: FastifyInstance, opts: DashboardRoutesOptions): Promise<void> {
  const assets = new Map(Object.entries(FILES).map(([name, f]) => [name, load(f.path, f.type)]))
  const v = (name: string): string => `/dashboard/assets/${name}?v=${assets.get(name)!.etag.slice(1, 9)}`
  const html = Buffer.from(readFileSync(new URL('index.html', here), 'utf8')
    .replace('{{token}}', opts.token === '' ? 'none' : 'required')
    .replace(/\{\{(\S+?)\}\}/g, (_m, name: string) => v(name)))
  const page: Asset = { body: html, type: 'text/html; charset=utf-8', etag: `"${createHash('sha256').update(html).digest('base64url').slice(0, 22)}"` }

  // This plugin is encapsulated: the hook covers its routes only (the event stream, hijacked, sets its own).
  app.addHook('onSend', async (_req, reply) => {
    reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer')
  })
  const send = (asset: Asset, cache: string) => async (req: { headers: Record<string, unknown> }, reply: FastifyReply) => {
    reply.header('cache-control', cache).header('etag', asset.etag)
    if (req.headers['if-none-match'] === asset.etag) return await reply.code(304).send()
    return await reply.type(asset.type).send(asset.body)
  }
  app.get('/dashboard', { schema: { hide: true } }, send(page, 'no-cache'))
  app.get<{ Params: { file: string } }>('/dashboard/assets/:file', { schema: { hide: true } }, async (req, reply) => {
    const asset = assets.get(req.params.file)
    if (asset === undefined) return await replyError(reply, new GatewayError('GW_ADMIN_NOT_FOUND', [`no dashboard asset "${req.params.file}"`]))
    return await send(asset, 'public, max-age=31536000, immutable')(req, reply)
  })

  // The data: the token rule of /admin.
  await app.register(async (scope) => {
    if (opts.token !== '') scope.addHook('onRequest', tokenCheck(opts.token))
    scope.get('/dashboard/events', { schema: { summary: 'The dashboard\'s live data: Server-Sent Events, a `hello` with the last 15 minutes, then a `frame` every second' } }, (req, reply) => {
      reply.hijack()
      const res = reply.raw
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', 'content-security-policy': CSP })
      res.write(opts.sampler.hello())
      // A slow reader skips frames instead of queueing them: memory stays flat however long it lags.
      let blocked = false
      const unsubscribe = opts.sampler.subscribe((chunk) => {
        if (blocked) return
        blocked = !res.write(chunk)
      })
      res.on('drain', () => { blocked = false })
      const end = (): void => { unsubscribe(); streams.delete(res) }
      streams.add(res)
      res.on('close', end)
    })
  })
  // Open streams never end by themselves: end them when the admin server closes.
  const streams = new Set<ServerResponse>()
  app.addHook('preClose', async () => {
    for (const res of streams) res.end()
  })
}
