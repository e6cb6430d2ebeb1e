import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { GatewayConfig } from '../lib/config/types.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Connections } from '../lib/conn/registry.js'
import { WsProxy } from '../lib/ws/upgrade.js'
import { TcpListeners } from '../lib/tcp/listeners.js'
import { GatewayError } from '../lib/errors.js'
import { writeSocketError } from '../lib/proxy/respond.js'
import { unsafeTarget } from '../lib/proxy/proxy.js'
import { absoluteFormHost } from '../lib/proxy/request-target.js'
import type { BackendPool } from '../lib/pool.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Open proxied WebSockets. */
    readonly websocketConnections: Connections
    /** The layer-4 listeners of the `tcp` section. */
    readonly tcpListeners: TcpListeners
    /** The proxy's handling of a request that arrived as an HTTP upgrade. */
    readonly proxyUpgrade: (req: IncomingMessage, res: ServerResponse, requestId: string) => void
  }
}

const EMPTY = Buffer.alloc(0)

/**
 * Long-lived connections: proxied WebSockets and the tcp listeners.
 *
 * Upgrades reach Fastify through @fastify/websocket, registered in each traffic generation
 * (plugins/traffic.ts): it routes the upgrade request through Fastify (so middleware hooks run
 * for upgrades too) and lets plugins declare their own `websocket: true` routes. The proxy's
 * catch-all route is not a websocket route of that plugin; it calls proxyUpgrade() itself
 * (routes/proxy.ts), which pipes the upgrade to a backend when its gateway route has
 * `websocket: true`.
 *
 * Drains: a backend that starts draining (admin drain or delete, removal by reload) has its
 * connections ended after their grace period. Shutdown: no new connections (Fastify answers
 * upgrades with 503 while closing, tcp listeners stop accepting), open ones end after their
 * grace period, and close waits for them.
 *
 * Reload ("connections" participant): prepare binds the listeners the new `tcp` section adds,
 * over the new pools (a port that cannot be bound fails the reload); commit switches the
 * listener set and follows the new pools' drain events; listeners that left close afterwards.
 * Connections to a backend the reload removed end after their grace period, through the old
 * pool's drain event (it retires the backend).
 */
export interface ConnectionsPluginOptions {
  /** False in the primary of workers: the tcp listeners are its workers' to bind, never its own. */
  serve?: boolean
}

async function connectionsPlugin (app: FastifyInstance, opts: ConnectionsPluginOptions): Promise<void> {
  const own = (configs: GatewayConfig['tcp']): GatewayConfig['tcp'] => opts.serve === false ? [] : configs
  const websockets = new Connections()
  const tcp = new TcpListeners({ recorder: app.gatewayMetrics.recorder, logger: app.log })
  const ws = new WsProxy({
    recorder: app.gatewayMetrics.recorder,
    logger: app.log,
    connections: websockets,
    drainTimeout: () => app.gatewayConfig.websocket.drainTimeout
  })

  const proxyUpgrade = (req: IncomingMessage, res: ServerResponse, requestId: string): void => {
    const socket = req.socket
    if (app.proxy.closing) {
      writeSocketError(socket, new GatewayError('GW_SHUTTING_DOWN'), requestId)
      return
    }
    const route = app.proxy.routeOf(req)
    if (route?.websocket === true && isWebSocketUpgrade(req)) {
      if (unsafeTarget(req.url!)) {
        writeSocketError(socket, new GatewayError('GW_BAD_REQUEST'), requestId)
        return
      }
      ws.upgrade(req, socket, upgradeHead(req), requestId, route, absoluteFormHost(req) ?? req.headers.host ?? '')
      return
    }
    // Any other upgrade (a route without websocket: true, h2c, …) is served as a plain request
    // with the Upgrade ignored (RFC 9110 §7.8), then the connection closes: it has left Node's
    // HTTP parser and cannot carry a next request. Its body could not be read, so one is refused.
    if (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') {
      writeSocketError(socket, new GatewayError('GW_BAD_REQUEST'), requestId)
      return
    }
    res.shouldKeepAlive = false
    res.on('finish', () => { socket.end() })
    app.proxy.handle(req, res, requestId)
  }

  const wire = (pools: ReadonlyMap<string, BackendPool>): void => {
    for (const pool of pools.values()) {
      pool.events.on('draining', (b) => {
        websockets.backendDraining(b)
        tcp.backendDraining(b)
      })
    }
  }
  wire(app.pools)

  app.decorate('websocketConnections', websockets)
  app.decorate('tcpListeners', tcp)
  app.decorate('proxyUpgrade', proxyUpgrade)

  app.reload.register({
    name: 'connections',
    prepare: async (next, ctx) => {
      const pools = ctx.get('pools').next
      const change = await tcp.prepare(own(next.tcp), pools)
      return {
        commit: () => {
          change.commit()
          wire(pools)
        },
        abort: change.abort,
        afterCommit: change.afterCommit
      }
    }
  })

  app.addHook('onReady', async () => {
    const change = await tcp.prepare(own(app.gatewayConfig.tcp), app.pools)
    change.commit()
    change.afterCommit()
  })
  let draining: Promise<unknown> = Promise.resolve()
  app.addHook('preClose', async () => {
    draining = Promise.all([websockets.close(), tcp.close()])
  })
  app.addHook('onClose', async () => { await draining })
}

function isWebSocketUpgrade (req: IncomingMessage): boolean {
  return req.method === 'GET' && /(?:^|,)\s*websocket\s*(?:,|$)/i.test(req.headers.upgrade ?? '')
}

/**
 * Bytes the client sent after its upgrade request, read with it. @fastify/websocket keeps them
 * on the request under a private symbol; they are usually none (clients wait for the 101).
 */
function upgradeHead (req: IncomingMessage): Buffer {
  for (const s of Object.getOwnPropertySymbols(req)) {
    if (s.description === 'ws-head') return (req as unknown as Record<symbol, Buffer>)[s] ?? EMPTY
  }
  return EMPTY
}

export default fp(connectionsPlugin, {
  name: 'gateway-connections',
  dependencies: ['gateway-config', 'gateway-pools', 'gateway-metrics', 'gateway-proxy', 'gateway-reload'],
  fastify: '5.x'
})
