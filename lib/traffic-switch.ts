import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/**
 * What the client listeners call for each request and each upgrade: the handler of the current
 * request-handling generation (plugins/traffic.ts). A reload that rebuilds the middleware swaps
 * it in one assignment; requests already being handled stay with the generation that took them.
 *
 * Upgrades are re-emitted on the current generation's own emitter, where its @fastify/websocket
 * listens, so exactly one generation handles each upgrade.
 */
export class TrafficSwitch {
  private handler: Handler
  private upgrades: EventEmitter = new EventEmitter()
  /** Requests and upgrades taken in by this process (GET /admin/workers). */
  served = 0

  constructor (initial: Handler) {
    this.handler = initial
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.served++
    this.handler(req, res)
  }

  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.served++
    // Without a listener (never, once a generation is in) Node would leave the socket hanging.
    if (!this.upgrades.emit('upgrade', req, socket, head)) socket.destroy()
  }

  swap (handler: Handler, upgrades: EventEmitter): void {
    this.handler = handler
    this.upgrades = upgrades
  }
}
