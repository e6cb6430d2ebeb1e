/**
 * Builds the GatewayConfig (types.ts) from a schema-checked document by calling each section's
 * normaliser (sections/*.ts: defaults, units, what the schema cannot express), and checks what
 * spans sections: listener ports that would clash at listen time.
 *
 * Issues are reported in call order (then sorted by line, stably), so keep this order.
 */

import type { GatewayConfig } from './types.js'
import { isObj, section, type Ctx, type Obj } from './fields.js'
import type { Segments } from './issues.js'
import { normaliseListen, type ListenConfig } from './sections/listen.js'
import { normaliseAdmin, type AdminConfig } from './sections/admin.js'
import { normalisePools } from './sections/pools.js'
import { normaliseRoutes, type RouteConfig } from './sections/routes.js'
import { normaliseLog } from './sections/log.js'
import { normaliseMetrics } from './sections/metrics.js'
import { normalisePlugins } from './sections/plugins.js'
import { normaliseShutdown } from './sections/shutdown.js'
import { normaliseWebSocket } from './sections/websocket.js'
import { normaliseTcp, type TcpListenerConfig } from './sections/tcp.js'
import { normaliseWorkers } from './sections/workers.js'
import { normaliseStore } from './sections/store.js'

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]'])

export function normalise (ctx: Ctx, raw: unknown): GatewayConfig {
  const root: Obj = isObj(raw) ? raw : {}
  const poolNames = isObj(root.pools) ? Object.keys(root.pools) : []
  const listen = normaliseListen(ctx, root.listen)
  const admin = normaliseAdmin(ctx, section(root, 'admin'))
  const pools = normalisePools(ctx, root.pools)
  const httpPools = poolNames.filter((n) => pools[n]?.protocol !== 'tcp')
  const tcp = normaliseTcp(ctx, root.tcp, pools)
  checkPorts(ctx, Array.isArray(root.listen), listen, admin, tcp)
  const routes = normaliseRoutes(ctx, root.routes, poolNames, httpPools)
  checkClientCertificateRoutes(ctx, listen, routes)
  return {
    listen,
    admin,
    pools,
    routes,
    log: normaliseLog(section(root, 'log')),
    metrics: normaliseMetrics(ctx, section(root, 'metrics')),
    plugins: normalisePlugins(ctx, root.plugins),
    shutdown: normaliseShutdown(ctx, section(root, 'shutdown')),
    websocket: normaliseWebSocket(ctx, section(root, 'websocket')),
    tcp,
    workers: normaliseWorkers(root.workers),
    store: normaliseStore(ctx, section(root, 'store'))
  }
}

/**
 * A route that matches on a client certificate needs a listener that asks for one (listen tls
 * clientCertificate mode request or require); otherwise it could never match.
 */
function checkClientCertificateRoutes (ctx: Ctx, listen: ListenConfig[], routes: RouteConfig[]): void {
  if (listen.some((l) => l.tls !== undefined && l.tls.clientCertificate.mode !== 'off')) return
  routes.forEach((r, i) => {
    if (r.match.clientCertificate !== undefined) {
      ctx.issues.add(['routes', i, 'match', 'clientCertificate'], 'no listener asks clients for a certificate (listen tls clientCertificate mode request or require), so this route could never match')
    }
  })
}

/**
 * No two listeners (client, admin, tcp) may share a port on overlapping addresses: say so now,
 * naming both, not as EADDRINUSE at listen time. Port 0 (any free port) never clashes.
 */
function checkPorts (ctx: Ctx, listenIsList: boolean, listen: ListenConfig[], admin: AdminConfig, tcp: TcpListenerConfig[]): void {
  const taken: Array<{ host: string, port: number, what: string }> = []
  const claim = (host: string, port: number, what: string, at: Segments, need = 'each listener needs a port of its own'): void => {
    if (port === 0) return
    const clash = taken.find((o) => o.port === port && (o.host === host || WILDCARD_HOSTS.has(o.host) || WILDCARD_HOSTS.has(host)))
    if (clash !== undefined) ctx.issues.add(at, `${port} is also ${clash.what}; ${need}`)
    else taken.push({ host, port, what })
  }
  listen.forEach((l, i) => {
    const at = listenIsList ? ['listen', i, 'port'] : ['listen', 'port']
    claim(l.host, l.port, listenIsList ? `listen[${i}].port` : 'listen.port', at)
  })
  claim(admin.host, admin.port, 'admin.port', ['admin', 'port'], 'the admin server needs a port of its own')
  tcp.forEach((t, i) => { claim(t.listen.host, t.listen.port, `tcp[${i}].listen.port`, ['tcp', i, 'listen', 'port']) })
}
