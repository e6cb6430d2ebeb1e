/**
 * Builds the GatewayConfig (types.ts) from a schema-checked document: applies DEFAULTS,
 * converts durations to ms and sizes to bytes, and checks what the schema cannot express
 * (URLs, names, references between sections, combinations Node would reject at listen time).
 */

import type { GatewayConfig, ListenConfig, AdminConfig, LogConfig, PoolConfig, TcpListenerConfig } from './types.js'
import { DEFAULTS, LOG_LEVELS } from './schema.js'
import { bool, duration, int, isObj, section, size, str, type Ctx, type Obj } from './fields.js'
import { normalisePools } from './pools.js'
import { normaliseRoutes } from './routes.js'
import { normaliseMetrics } from './metrics.js'
import { resolve } from 'node:path'

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]'])

export function normalise (ctx: Ctx, raw: unknown): GatewayConfig {
  const root: Obj = isObj(raw) ? raw : {}
  const poolNames = isObj(root.pools) ? Object.keys(root.pools) : []
  const listen = normaliseListen(ctx, section(root, 'listen'))
  const admin = normaliseAdmin(ctx, section(root, 'admin'))
  checkPortClash(ctx, listen, admin)
  const l = section(root, 'log')
  const level = str(l, 'level', DEFAULTS.log.level)
  const pools = normalisePools(ctx, root.pools)
  const httpPools = poolNames.filter((n) => pools[n]?.protocol !== 'tcp')
  const tcp = normaliseTcp(ctx, root.tcp, pools)
  checkTcpPorts(ctx, tcp, listen, admin)
  return {
    listen,
    admin,
    pools,
    routes: normaliseRoutes(ctx, root.routes, poolNames, httpPools),
    log: {
      level: (LOG_LEVELS as readonly string[]).includes(level) ? level as LogConfig['level'] : DEFAULTS.log.level,
      access: isObj(l.access) ? true : bool(l, 'access', DEFAULTS.log.access),
      accessSample: isObj(l.access) && typeof l.access.sample === 'number' ? l.access.sample : 1
    },
    metrics: normaliseMetrics(ctx, root),
    plugins: Array.isArray(root.plugins)
      ? (root.plugins as Obj[]).filter(isObj).map((p) => ({
          module: resolve(ctx.baseDir, str(p, 'module', '')),
          options: isObj(p.options) ? p.options : {}
        }))
      : [],
    shutdown: { timeout: duration(ctx, section(root, 'shutdown'), 'timeout', ['shutdown'], DEFAULTS.shutdown.timeout, 0) },
    websocket: { drainTimeout: duration(ctx, section(root, 'websocket'), 'drainTimeout', ['websocket'], DEFAULTS.websocket.drainTimeout, 0) },
    tcp
  }
}

function normaliseTcp (ctx: Ctx, raw: unknown, pools: Record<string, PoolConfig>): TcpListenerConfig[] {
  if (!Array.isArray(raw)) return []
  const d = DEFAULTS.tcp
  return raw.filter(isObj).map((t, i) => {
    const segs = ['tcp', i]
    const l = section(t, 'listen')
    const pool = str(t, 'pool', '')
    if (pool !== '' && pools[pool] === undefined && !ctx.issues.has([...segs, 'pool'])) {
      ctx.issues.add([...segs, 'pool'], `unknown pool "${pool}"; known pools: ${Object.keys(pools).join(', ')}`)
    }
    return {
      listen: { host: str(l, 'host', DEFAULTS.listen.host), port: int(l, 'port', 0) },
      pool,
      idleTimeout: duration(ctx, t, 'idleTimeout', segs, d.idleTimeout, 0),
      maxConnections: int(t, 'maxConnections', d.maxConnections),
      drainTimeout: duration(ctx, t, 'drainTimeout', segs, d.drainTimeout, 0)
    }
  })
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

function normaliseListen (ctx: Ctx, o: Obj): ListenConfig {
  const d = DEFAULTS.listen
  const at = ['listen']
  const listen: ListenConfig = {
    host: str(o, 'host', d.host),
    port: int(o, 'port', d.port),
    trustProxy: bool(o, 'trustProxy', d.trustProxy),
    headersTimeout: duration(ctx, o, 'headersTimeout', at, d.headersTimeout, 1),
    requestTimeout: duration(ctx, o, 'requestTimeout', at, d.requestTimeout, 0), // 0 disables, as in Node
    keepAliveTimeout: duration(ctx, o, 'keepAliveTimeout', at, d.keepAliveTimeout, 1),
    maxHeaderSize: size(ctx, o, 'maxHeaderSize', at, d.maxHeaderSize, 1)
  }
  // Node's http.createServer throws when headersTimeout > requestTimeout (unless the latter is 0).
  if (listen.requestTimeout > 0 && listen.headersTimeout > listen.requestTimeout &&
    !ctx.issues.has(['listen', 'headersTimeout']) && !ctx.issues.has(['listen', 'requestTimeout'])) {
    ctx.issues.add(['listen', 'headersTimeout'],
      `must not be longer than listen.requestTimeout (${listen.headersTimeout} ms > ${listen.requestTimeout} ms)`)
  }
  return listen
}

function normaliseAdmin (ctx: Ctx, o: Obj): AdminConfig {
  const d = DEFAULTS.admin
  const admin = { host: str(o, 'host', d.host), port: int(o, 'port', d.port), token: str(o, 'token', d.token) }
  // The admin API changes backends: off loopback, it must not be open to whoever can reach it.
  if (admin.token === '' && !isLoopback(admin.host)) {
    ctx.issues.add(['admin', 'token'], `required when admin.host (${admin.host}) is not a loopback address; set a long random token, e.g. token: "\${GATEWAY_ADMIN_TOKEN}"`)
  }
  return admin
}

function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** The two servers cannot share a port on overlapping addresses; say so now, not as EADDRINUSE. */
function checkPortClash (ctx: Ctx, listen: ListenConfig, admin: AdminConfig): void {
  if (listen.port === 0 || listen.port !== admin.port) return
  if (listen.host === admin.host || WILDCARD_HOSTS.has(listen.host) || WILDCARD_HOSTS.has(admin.host)) {
    ctx.issues.add(['admin', 'port'], `${admin.port} is also listen.port; the admin server needs a port of its own`)
  }
}
