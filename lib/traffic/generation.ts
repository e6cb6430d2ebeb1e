import { WORKER_ENV } from '../cluster/messages.js'
import { EventEmitter } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify'
import fastifyWebsocket from '@fastify/websocket'
import type { GatewayConfig } from '../config/types.js'
import type { MiddlewarePlugin } from '../config/modules.js'
import type { HttpProxy } from '../proxy/proxy.js'
import type { TrafficSwitch } from '../traffic-switch.js'
import type { PreparedChange } from '../reload/participant.js'
import { toOriginForm } from '../proxy/request-target.js'
import { requestId } from '../request-id.js'
import { GatewayError } from '../errors.js'
import { gatewayErrorHandler, replyError } from '../http/error-reply.js'
import proxyRoutes from '../../routes/proxy.js'
import { RateCounters, type RateStore } from './rate-counters.js'

/** How long a replaced generation stays open for the requests it took in before it is closed. */
export const RETIRE_AFTER_MS = 60_000

export interface GenerationDeps {
  /** The root logger (a generation logs through it; no per-request child loggers). */
  logger: FastifyBaseLogger
  proxy: HttpProxy
  /** Handles a request that arrived as an upgrade (plugins/connections.ts). */
  upgrade: (req: IncomingMessage, res: ServerResponse, requestId: string) => void
  /** Served on the client listener when metrics.onClientListener is on. */
  registry: { contentType: string, metrics: () => Promise<string> }
  /** Where the limiter counts; default counters in this process (a worker passes the primary's). */
  counters?: RateStore
}

interface Generation {
  instance: FastifyInstance
  /** Upgrades reach this generation's @fastify/websocket through this emitter only. */
  upgrades: EventEmitter
  /** The config it was built from. */
  config: GatewayConfig
}

/**
 * Client traffic is handled by a "generation": a Fastify instance of its own (it never listens)
 * holding what a reload may change but Fastify cannot change once started: the middleware
 * plugins, the rate limiter, @fastify/websocket and the proxy's catch-all route. The client
 * listener's server hands every request and upgrade to the current generation (TrafficSwitch).
 *
 * A reload that changes the plugins (or has any: their code is imported afresh) or turns rate
 * limiting on or off, or moves the client-listener metrics route, builds a new generation,
 * ready before the switch; the old one finishes the requests it took in and is closed
 * RETIRE_AFTER_MS later (its plugins' onClose hooks run then). A reload that changes none of
 * these keeps the generation. Either way the rate limiter's counters are kept: they live here,
 * not in a generation (lib/traffic/rate-counters.ts).
 */
export class Generations {
  /** Shared by every generation's rate limiter. */
  readonly counters: RateStore
  private current: Generation | undefined
  private readonly retiring = new Set<FastifyInstance>()

  constructor (private readonly traffic: TrafficSwitch, private readonly deps: GenerationDeps) {
    this.counters = deps.counters ?? new RateCounters()
  }

  /** Builds the first generation and switches the listener to it. */
  async start (config: GatewayConfig, plugins: ReadonlyMap<string, MiddlewarePlugin>): Promise<void> {
    this.use(await this.build(config, plugins))
  }

  /**
   * The reload's prepare: a new generation for `next`, built and ready (a plugin that fails to
   * register throws, changing nothing), or undefined when the running one serves `next` as is.
   */
  async prepare (next: GatewayConfig, plugins: ReadonlyMap<string, MiddlewarePlugin>): Promise<PreparedChange | undefined> {
    const running = this.current
    if (running !== undefined && !needsNewGeneration(running.config, next)) return undefined
    const fresh = await this.build(next, plugins)
    return {
      commit: () => { this.use(fresh) },
      abort: async () => { await fresh.instance.close() },
      afterCommit: () => { if (running !== undefined) this.retire(running.instance) }
    }
  }

  /** Closes the current generation and those still retiring (the gateway's onClose). */
  async close (): Promise<void> {
    const all = [...this.retiring]
    if (this.current !== undefined) all.push(this.current.instance)
    this.retiring.clear()
    await Promise.all(all.map(async (i) => { await i.close() }))
  }

  private use (g: Generation): void {
    this.current = g
    this.traffic.swap(g.instance.routing, g.upgrades)
  }

  private retire (old: FastifyInstance): void {
    this.retiring.add(old)
    setTimeout(() => {
      if (!this.retiring.delete(old)) return
      void old.close()
    }, RETIRE_AFTER_MS).unref()
  }

  private async build (config: GatewayConfig, plugins: ReadonlyMap<string, MiddlewarePlugin>): Promise<Generation> {
    const instance = Fastify({
      loggerInstance: this.deps.logger,
      // The proxy writes one access line itself; Fastify's two per-request lines and its
      // per-request child logger would only cost time.
      logController: new LogController({ disableRequestLogging: true }),
      childLoggerFactory: (logger) => logger,
      requestIdHeader: false,
      genReqId: requestId,
      rewriteUrl: toOriginForm,
      // Never listens: the client listener's server calls its routing (TrafficSwitch).
      serverFactory: (handler) => createServer(handler),
      // Fastify's own 400 for a URL it cannot decode, in the catalogue's shape.
      // Fastify's own 400 for a URL it cannot decode, in the catalogue's shape.
      frameworkErrors: (_err, _req, reply) => { void replyError(reply as FastifyReply, new GatewayError('GW_BAD_REQUEST')) }
    }) as unknown as FastifyInstance
    instance.setNotFoundHandler((_req, reply) => { void replyError(reply, new GatewayError('GW_ROUTE_NOT_FOUND')) })
    // Errors thrown by hooks (the rate limiter's GW_RATE_LIMITED, a middleware plugin's bug).
    instance.setErrorHandler(gatewayErrorHandler({ badRequest: 'GW_BAD_REQUEST' }))
    if (config.workers.debugHeader) {
      // Which process answered (workers.debugHeader; off by default): set on the raw response,
      // so it survives the proxy's own writeHead. Changing it needs a restart (plugins/config.ts).
      const worker = process.env[WORKER_ENV] ?? '0'
      instance.addHook('onRequest', (_req, reply, done) => { reply.raw.setHeader('x-gateway-worker', worker); done() })
    }
    const upgrades = new EventEmitter()
    await instance.register(fastifyWebsocket, { options: { server: upgrades as unknown as Server } })
    // Optionally the metrics on the client listener: a route of its own, ahead of the proxy.
    if (config.metrics.onClientListener) {
      const registry = this.deps.registry
      instance.get(config.metrics.path, async (_req, reply) => await reply.type(registry.contentType).send(await registry.metrics()))
    }
    await instance.register(proxyRoutes, {
      proxy: this.deps.proxy,
      upgrade: this.deps.upgrade,
      plugins: config.plugins,
      modules: plugins,
      rateLimited: config.routes.some((r) => r.rateLimit !== undefined),
      counters: this.counters
    })
    await instance.ready()
    return { instance, upgrades, config }
  }
}

/** Whether `next` needs a new generation rather than the one built from `running`. */
export function needsNewGeneration (running: GatewayConfig, next: GatewayConfig): boolean {
  return next.plugins.length > 0 ||
    JSON.stringify(next.plugins) !== JSON.stringify(running.plugins) ||
    next.routes.some((r) => r.rateLimit !== undefined) !== running.routes.some((r) => r.rateLimit !== undefined) ||
    JSON.stringify(next.metrics.onClientListener ? next.metrics.path : '') !== JSON.stringify(running.metrics.onClientListener ? running.metrics.path : '')
}
