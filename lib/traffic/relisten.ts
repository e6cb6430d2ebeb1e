import type { Server as HttpServer } from 'node:http'
import type { ListenConfig } from '../config/types.js'
import { createClientServer } from '../client-limits.js'
import type { TrafficSwitch } from '../traffic-switch.js'
import type { PreparedChange } from '../reload/participant.js'

/**
 * The client listener across reloads: the `http.Server` that takes client connections (at
 * first the root instance's, app.server) and the `listen` section it runs with. Every server
 * hands its requests and upgrades to the same TrafficSwitch, so moving the address does not
 * touch the traffic generations.
 */
export class ClientListener {
  private current: HttpServer
  private listen: ListenConfig

  constructor (private readonly initial: HttpServer, listen: ListenConfig, private readonly traffic: TrafficSwitch) {
    this.current = initial
    this.listen = listen
  }

  /** The server taking client connections now. */
  get server (): HttpServer {
    return this.current
  }

  /**
   * The reload's prepare for a `listen` section. Unchanged: undefined. Same address (port 0,
   * "any", keeps the bound port, as does the bound port itself): the limits apply to the running
   * server at commit. A new address is bound now, by a new server, and the commit switches to
   * it; the old one then stops accepting and its open connections finish. Throws, changing
   * nothing, when the new address cannot be bound.
   */
  async prepare (next: ListenConfig): Promise<PreparedChange | undefined> {
    if (JSON.stringify(next) === JSON.stringify(this.listen)) return undefined
    const server = this.current
    const bound = (server.address() as { port?: number } | null)?.port
    if (next.host === this.listen.host && (next.port === this.listen.port || next.port === 0 || next.port === bound)) {
      return {
        abort: () => {},
        commit: () => {
          // Read by Node per new connection or request: open connections keep what they had.
          server.headersTimeout = next.headersTimeout
          server.requestTimeout = next.requestTimeout
          server.keepAliveTimeout = next.keepAliveTimeout
          ;(server as { maxHeaderSize?: number }).maxHeaderSize = next.maxHeaderSize
          this.listen = next
        }
      }
    }
    const fresh = createClientServer(next, this.traffic.handle)
    fresh.on('upgrade', this.traffic.upgrade)
    await new Promise<void>((resolve, reject) => {
      fresh.once('error', reject)
      fresh.listen({ host: next.host, port: next.port }, () => { fresh.removeListener('error', reject); resolve() })
    })
    return {
      abort: () => { fresh.close() },
      commit: () => {
        this.current = fresh
        this.listen = next
      },
      afterCommit: () => {
        // The old address stops accepting; its keep-alive connections close when idle, and
        // requests on them finish.
        server.close()
        server.closeIdleConnections()
      }
    }
  }

  /** The gateway's onClose: a server this listener opened closes (app.server is Fastify's to close). */
  close (): void {
    if (this.current === this.initial) return
    this.current.close()
    this.current.closeIdleConnections()
  }
}
