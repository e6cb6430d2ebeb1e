import type { FastifyReply, FastifyRequest } from 'fastify'
import { GatewayError } from '../lib/errors.js'

/**
 * The config revision on the admin API's edges (docs/config-store.md): an answer that changed
 * state, and GET /admin/config, carry it as `revision` in the body and as a strong ETag
 * (`"12"`); a write may send `If-Match: "12"` to be refused (409 GW_CONFIG_REVISION_MOVED) when
 * the config has moved on. `If-Match: *` or none: no check.
 */
export function expectedRevision (req: FastifyRequest): number | undefined {
  const h = req.headers['if-match']
  if (h === undefined || h.trim() === '*') return undefined
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(h)
  if (m === null) throw new GatewayError('GW_ADMIN_BAD_REQUEST', [`If-Match: expected one revision ETag such as "12" (from GET /admin/config or an answer's ETag), got ${JSON.stringify(h.slice(0, 40))}`])
  return Number(m[1])
}

export const etagOf = (revision: number): string => `"${revision}"`

/** Sends `body` with `revision` added, and the ETag. */
export async function sendRevision (reply: FastifyReply, revision: number, body: object): Promise<FastifyReply> {
  return await reply.header('etag', etagOf(revision)).send({ ...body, revision })
}
