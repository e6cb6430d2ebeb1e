import { connect, createServer, type Server, type Socket } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import type { TcpListenerConfig } from '../config/types.js'
import type { BackendPool } from '../pool.js'
import type { Lease } from '../pool/lease.js'
import type { Recorder } from '../metrics/types.js'
import { Connections } from '../conn/registry.js'
import { GatewayError } from '../errors.js'
import { mapUpstreamError } from '../proxy/upstream-errors.js'
import { Failover } from '../resilience/failover.js'
import { TcpTunnel } from './tunnel.js'
import { PendingClient } from './pending.js'

export interface TcpDeps {
  recorder: Recorder
  logger: FastifyBaseLogger
}

/**
 * One layer-4 listener: each accepted connection is piped to a backend of its pool, chosen by
 * the pool's algorithm (keyed on the client IP for the hashing ones). A backend whose connect
 * fails (refused, unreachable, timeout) is recorded as a failure (breaker, outlier detection)
 * and, since no byte has been sent yet, another is tried by the same failover rules as HTTP
 * requests (lib/resilience/failover.ts: retry.attempts, the budget, the backoff). Meanwhile
 * the client is read into a bounded buffer (lib/tcp/pending.ts), so a client that leaves
 * cancels the connect, and what it sent is forwarded once connected. When no backend is left
 * the client connection is reset. An open connection counts in its backend's
 * in-flight number (least-connections balances open connections): it holds its lease until it closes.
 */
export class TcpListener {
  readonly server: Server
  readonly connections = new Connections()
  private closing = false

  /** Connections accepted before the listener has its pool (between bind and a reload's switch). */
  private waiting: Socket[] | undefined
  private pool!: BackendPool

  /** Without a pool, accepted connections wait (paused) until update() gives it one. */
  constructor (private cfg: TcpListenerConfig, pool: BackendPool | undefined, private readonly deps: TcpDeps) {
    if (pool === undefined) this.waiting = []
    else this.pool = pool
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => { this.accept(socket) })
    if (cfg.maxConnections > 0) this.server.maxConnections = cfg.maxConnections
  }

  async listen (): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen({ host: this.cfg.listen.host, port: this.cfg.listen.port }, () => {
        this.server.removeListener('error', reject)
        resolve()
      })
    })
  }

  /** The bound port (useful with port 0). */
  get port (): number {
    return (this.server.address() as { port: number }).port
  }

  /** A reload that keeps this address: new pool and settings for new connections. */
  update (cfg: TcpListenerConfig, pool: BackendPool): void {
    this.cfg = cfg
    this.pool = pool
    this.server.maxConnections = cfg.maxConnections > 0 ? cfg.maxConnections : Infinity
    const waiting = this.waiting
    this.waiting = undefined
    for (const socket of waiting ?? []) if (!socket.destroyed) this.accept(socket)
  }

  /**
   * Stops accepting; open connections end after drainTimeout (FIN both ways) unless they close
   * first. Resolves when all are closed.
   */
  async close (): Promise<void> {
    this.closing = true
    for (const socket of this.waiting ?? []) socket.destroy()
    this.waiting = undefined
    const closed = new Promise<void>((resolve) => { this.server.close(() => { resolve() }) })
    await this.connections.close()
    await closed
  }

  private accept (client: Socket): void {
    if (this.closing) {
      client.destroy()
      return
    }
    if (this.waiting !== undefined) {
      this.waiting.push(client)
      return
    }
    client.on('error', () => {}) // errors before the tunnel exists end in 'close' (PendingClient)
    const pool = this.pool
    const key = pool.keySource?.from === 'ip' ? client.remoteAddress : undefined
    // Nothing is sent to a backend before its connect succeeds, so every connect may fail over.
    const start = performance.now()
    this.dial(client, new PendingClient(client), new Failover(pool, this.deps.recorder, { attempt: 0, key }, true, start), start)
  }

  private dial (client: Socket, pending: PendingClient, failover: Failover, start: number): void {
    const pool = failover.pool
    const lease = failover.lease()
    if (lease === undefined) {
      this.deps.logger.warn({ pool: pool.name, listener: this.name }, 'tcp connection refused: no backend available')
      pending.release()
      client.resetAndDestroy()
      return
    }
    const b = lease.backend
    const started = performance.now()
    const upstream = connect({ host: b.hostname, port: b.port, allowHalfOpen: true, noDelay: true })
    // Within the pool's connect timeout and what is left of the connection's deadline
    // (timeouts.request across every try, lib/resilience/failover.ts).
    const timer = setTimeout(() => { upstream.destroy(new GatewayError('GW_UPSTREAM_CONNECT_TIMEOUT')) },
      Math.min(pool.config.timeouts.connect, failover.tryTimeout()))
    // The client left while connecting: the connect is cancelled, and is no backend's failure.
    pending.onGone = () => {
      clearTimeout(timer)
      upstream.destroy()
      lease.abandon()
      this.deps.logger.info({ pool: pool.name, backend: b.id, listener: this.name, client: client.remoteAddress }, 'tcp client left while its backend connect was pending: connect cancelled')
    }
    const failed = (err: Error): void => {
      clearTimeout(timer)
      pending.onGone = undefined
      const mapped = mapUpstreamError(err)
      if (failover.failed(lease, mapped, performance.now() - started, 0, !pending.gone)) {
        const backoff = failover.backoff(mapped.reason, () => {
          pending.onGone = undefined
          if (!pending.gone) this.dial(client, pending, failover, start)
        })
        pending.onGone = backoff
        return
      }
      if (pending.gone) return
      this.deps.logger.error({ pool: pool.name, backend: b.id, listener: this.name, reason: mapped.reason, err }, 'tcp connect failed')
      pending.release()
      client.resetAndDestroy()
    }
    upstream.once('error', failed)
    upstream.once('connect', () => {
      clearTimeout(timer)
      upstream.removeListener('error', failed)
      this.open(client, upstream, pool, lease, pending.release(), performance.now() - start)
    })
  }

  private open (client: Socket, upstream: Socket, pool: BackendPool, lease: Lease, sent: { head: Buffer[], ended: boolean }, ms: number): void {
    const b = lease.backend
    lease.hold('tcp', ms)
    const { recorder, logger } = this.deps
    recorder.connectionOpened('tcp', pool, b)
    const opened = performance.now()
    client.setNoDelay(true)
    const tunnel = new TcpTunnel(client, upstream, b, this.cfg.drainTimeout, this.cfg.idleTimeout, sent, (end) => {
      this.connections.delete(tunnel)
      lease.done()
      recorder.connectionClosed('tcp', pool, b, end.bytesIn, end.bytesOut)
      logger.info({ listener: this.name, pool: pool.name, backend: b.id, client: client.remoteAddress, endedBy: end.endedBy, bytesIn: end.bytesIn, bytesOut: end.bytesOut, ms: Math.round(performance.now() - opened) }, 'tcp connection closed')
    })
    this.connections.add(tunnel)
    client.resume()
  }

  private get name (): string {
    return `${this.cfg.listen.host}:${this.cfg.listen.port}`
  }
}
