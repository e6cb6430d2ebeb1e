import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** A client's X-Request-Id is kept when it is sane (visible ASCII, at most 128 chars). */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/

/**
 * Generated ids are a random per-process prefix and a counter: unique across restarts and
 * processes, and far cheaper per request than a random UUID. The counter is per process on
 * purpose, so that two gateways in one process never hand out the same id.
 */
const ID_PREFIX = randomBytes(6).toString('hex')
let idCounter = 0

/** The request's id: the client's X-Request-Id when sane, else a generated one (Fastify's genReqId). */
export function requestId (req: IncomingMessage): string {
  // rawHeaders, not req.headers: Node builds that object lazily and the proxy never needs it.
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.length === 12 && name.toLowerCase() === 'x-request-id') {
      const id = raw[i + 1]!
      if (REQUEST_ID.test(id)) return id
      break
    }
  }
  return `${ID_PREFIX}-${(++idCounter).toString(36)}`
}
