/**
 * Builds the GatewayConfig (types.ts) from a schema-checked document by calling each section's
 * normaliser (sections/*.ts: defaults, units, what the schema cannot express), and checks what
 * spans sections: listener ports that would clash at listen time.
 *
 * Issues are reported in call order (then sorted by line, stably), so keep this order.
 */

import type { GatewayConfig } from './types.js'
import { isObj, section, type Ctx, type Obj } from './fields.js'
import { normaliseListen, type ListenConfig } from './sections/listen.js'
import { normaliseAdmin, type AdminConfig } from './sections/admin.js'
import { normalisePools } from './sections/pools.js'
import { normaliseRoutes } from './sections/routes.js'
import { normaliseLog } from './sections/log.js'
import { normaliseMetrics } from './sections/metrics.js'
import { normalisePlugins } from './sections/plugins.js'
import { normaliseShutdown } from './sections/shutdown.js'
import { normaliseWebSocket } from './sections/websocket.js'
import { normaliseTcp, type TcpListenerConfig } from './sections/tcp.js'

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]'])

export function normalise (ctx: Ctx, raw: unknown): GatewayConfig {
  const root: Obj = isObj(raw) ? raw : {}
  const poolNames = isObj(root.pools) ? Object.keys(root.pools) : []
  const listen = normaliseListen(ctx, section(root, 'listen'))
  const admin = normaliseAdmin(ctx, section(root, 'admin'))
  checkPortClash(ctx, listen, admin)
  const pools = normalisePools(ctx, root.pools)
  const httpPools = poolNames.filter((n) => pools[n]?.protocol !== 'tcp')
  const tcp = normaliseTcp(ctx, root.tcp, pools)
  checkTcpPorts(ctx, tcp, listen, admin)
  return {
    listen,
    admin,
    pools,
    routes: normaliseRoutes(ctx, root.routes, poolNames, httpPools),
    log: normaliseLog(section(root, 'log')),
    metrics: normaliseMetrics(ctx, section(root, 'metrics')),
    plugins: normalisePlugins(ctx, root.plugins),
    shutdown: normaliseShutdown(ctx, section(root, 'shutdown')),
    websocket: normaliseWebSocket(ctx, section(root, 'websocket')),
    tcp
  }
}

/** The two servers cannot share a port on overlapping addresses; say so now, not as EADDRINUSE. */
function checkPortClash (ctx: Ctx, listen: ListenConfig, admin: AdminConfig): void {
  if (listen.port === 0 || listen.port !== admin.port) return
  if (listen.host === admin.host || WILDCARD_HOSTS.has(listen.host) || WILDCARD_HOSTS.has(admin.host)) {
    ctx.issues.add(['admin', 'port'], `${admin.port} is also listen.port; the admin server needs a port of its own`)
  }
}

/** A tcp listener's port must not be the HTTP listener's, the admin one's, or another tcp listener's. */
function checkTcpPorts (ctx: Ctx, tcp: TcpListenerConfig[], listen: ListenConfig, admin: AdminConfig): void {
  const taken: Array<{ host: string, port: number, what: string }> = [
    { ...listen, what: 'listen.port' }, { ...admin, what: 'admin.port' }
  ]
  tcp.forEach((t, i) => {
    const { host, port } = t.listen
    if (port === 0) return
    const clash = taken.find((o) => o.port === port && (o.host === host || WILDCARD_HOSTS.has(o.host) || WILDCARD_HOSTS.has(host)))
    if (clash !== undefined) ctx.issues.add(['tcp', i, 'listen', 'port'], `${port} is also ${clash.what}; each listener needs a port of its own`)
    taken.push({ host, port, what: `tcp[${i}].listen.port` })
  })
}
