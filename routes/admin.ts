import { createHash, timingSafeEqual } from 'node:crypto'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type {} from '@fastify/swagger' // adds summary to route schemas
import type { BackendPool } from '../lib/pool.js'
import { GatewayError, type ErrorCode } from '../lib/errors.js'
import { replyError } from '../lib/http/error-reply.js'
import { parseBackendUrl } from '../lib/config/pools.js'
import { BackendChanged, PoolView, PoolsView } from './admin-schemas.js'
import type { PoolCounters } from '../lib/cluster/messages.js'
import type { ConfigState } from '../lib/store/config-state.js'
import { withAdded, withRemoved, withSet } from '../lib/store/overrides.js'
import { expectedRevision, sendRevision } from './revision.js'

export interface AdminRoutesOptions {
  pools: ReadonlyMap<string, BackendPool>
  /** Bearer token for /admin; "" means none. */
  token: string
  /**
   * With worker processes: the workers' counters summed (in-flight, connections, requests,
   * errors), shown in place of the primary's own, which serves no traffic.
   */
  counters?: () => Promise<PoolCounters>
  /** Every write is a change of the config, saved here first (lib/store/config-state.ts). */
  store: ConfigState
}

const PoolParams = Type.Object({ pool: Type.String() })
const BackendParams = Type.Object({ pool: Type.String(), id: Type.String() })
const NewBackend = Type.Object({
  url: Type.String({ minLength: 1 }),
  weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
  id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 }))
}, { additionalProperties: false })
const BackendChange = Type.Object({
  weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
  enabled: Type.Optional(Type.Boolean())
}, { additionalProperties: false, minProperties: 1 })

/** A backend no worker has reported yet (just added) has served nothing. */
const zero = { inFlight: 0, websockets: 0, tcpConnections: 0, requests: 0, errors: 0 }

/** Same length whatever the input, so the comparison below takes the same time for every guess. */
const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

function fail (reply: FastifyReply, code: ErrorCode, ...args: string[]): FastifyReply {
  return replyError(reply, new GatewayError(code, args))
}

/** An onRequest hook that lets only `Authorization: Bearer <token>` through (constant-time compare). */
export function tokenCheck (token: string): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = digest(`Bearer ${token}`)
  return async (req, reply) => {
    const given = req.headers.authorization
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) await fail(reply, 'GW_ADMIN_UNAUTHORIZED')
  }
}

/**
 * The admin REST API for backends: read pools and backends with their live state, add, change,
 * drain and remove backends. Every route has a TypeBox schema; a bad body gets 400 naming the
 * field. With admin.token set, every /admin route needs `Authorization: Bearer <token>`,
 * compared in constant time.
 */
export default async function adminRoutes (app: FastifyInstance, opts: AdminRoutesOptions): Promise<void> {
  const { pools, store } = opts
  if (opts.token !== '') app.addHook('onRequest', tokenCheck(opts.token))

  const poolOf = (name: string, reply: FastifyReply): BackendPool | undefined => {
    const pool = pools.get(name)
    if (pool === undefined) void fail(reply, 'GW_ADMIN_NOT_FOUND', `no pool "${name}"; pools: ${[...pools.keys()].join(', ')}`)
    return pool
  }
  const describe = (pool: BackendPool, counters: PoolCounters | undefined): Static<typeof PoolView> => ({
    name: pool.name,
    algorithm: pool.config.algorithm.name,
    ready: pool.readyCount(),
    backends: counters === undefined ? pool.snapshot() : pool.snapshot().map((b) => ({ ...b, ...zero, ...counters[pool.name]?.[b.id] }))
  })
  const counters = async (): Promise<PoolCounters | undefined> => await opts.counters?.()

  app.get('/admin/pools', { schema: { summary: 'Every pool with its backends and their live state', response: { 200: PoolsView } } },
    async () => {
      const c = await counters()
      return { pools: [...pools.values()].map((p) => describe(p, c)) }
    })

  app.get<{ Params: Static<typeof PoolParams> }>('/admin/pools/:pool', { schema: { params: PoolParams, summary: 'One pool', response: { 200: PoolView } } },
    async (req, reply) => {
      const pool = poolOf(req.params.pool, reply)
      return pool === undefined ? reply : describe(pool, await counters())
    })

  // Every write below: If-Match (optional) names the revision the writer read; the check that
  // refuses the change runs in the store's turn, before anything is saved, so two writers cannot
  // both pass it; the pool changes only after the change is saved; the answer carries the
  // revision it produced (body `revision`, ETag).
  const missing = (pool: BackendPool, id: string): GatewayError => new GatewayError('GW_ADMIN_NOT_FOUND', [`pool "${pool.name}" has no backend "${id}"`])
  // The pool as it is in the store's turn: a change another gateway of the fleet made meanwhile
  // (etcd) may have been applied first, replacing the pool object the route looked up.
  const live = (pool: BackendPool): BackendPool => {
    const now = pools.get(pool.name)
    if (now === undefined) throw new GatewayError('GW_ADMIN_NOT_FOUND', [`no pool "${pool.name}" any more`])
    return now
  }

  app.post<{ Params: Static<typeof PoolParams>, Body: Static<typeof NewBackend> }>('/admin/pools/:pool/backends',
    { schema: { params: PoolParams, body: NewBackend, summary: 'Add a backend (201)', response: { 201: BackendChanged } } },
    async (req, reply) => {
      const pool = poolOf(req.params.pool, reply)
      if (pool === undefined) return reply
      const parsed = parseBackendUrl(req.body.url)
      if (typeof parsed === 'string') return await fail(reply, 'GW_ADMIN_BAD_REQUEST', `body/url: ${parsed}`)
      if (parsed.url.startsWith('tcp:') !== (pool.config.protocol === 'tcp')) {
        return await fail(reply, 'GW_ADMIN_BAD_REQUEST', pool.config.protocol === 'tcp'
          ? `body/url: pool "${pool.name}" is a layer-4 pool; its backends are tcp://host:port`
          : `body/url: pool "${pool.name}" is an HTTP pool; its backends are http:// or https:// URLs`)
      }
      const id = req.body.id ?? parsed.id
      const added = { id, url: parsed.url, weight: req.body.weight ?? 1 }
      const { revision, result } = await store.backendChange(
        { change: `added backend ${pool.name}/${id} (${parsed.url}, weight ${added.weight})`, via: 'admin', expected: expectedRevision(req) },
        (ov) => {
          if (live(pool).find(id) !== undefined) throw new GatewayError('GW_ADMIN_CONFLICT', [`pool "${pool.name}" already has a backend "${id}"`])
          return withAdded(ov, pool.name, added)
        },
        () => {
          live(pool).addBackend({ ...added, enabled: true, drain: false })
          return live(pool).snapshot().find((b) => b.id === id)!
        })
      return await sendRevision(reply.code(201), revision, result)
    })

  app.patch<{ Params: Static<typeof BackendParams>, Body: Static<typeof BackendChange> }>('/admin/pools/:pool/backends/:id',
    { schema: { params: BackendParams, body: BackendChange, summary: 'Change a backend\'s weight or enable/disable it', response: { 200: BackendChanged } } },
    async (req, reply) => {
      const pool = poolOf(req.params.pool, reply)
      if (pool === undefined) return reply
      const { id } = req.params
      const { weight, enabled } = req.body
      const what = [weight === undefined ? '' : `weight ${weight}`, enabled === undefined ? '' : enabled ? 'enabled' : 'disabled'].filter((x) => x !== '').join(', ')
      const { revision, result } = await store.backendChange(
        { change: `changed backend ${pool.name}/${id}: ${what}`, via: 'admin', expected: expectedRevision(req) },
        (ov) => {
          if (live(pool).find(id) === undefined) throw missing(pool, id)
          return withSet(ov, pool.name, id, { ...(weight === undefined ? {} : { weight }), ...(enabled === undefined ? {} : { enabled }) })
        },
        () => {
          if (weight !== undefined) live(pool).setWeight(id, weight)
          if (enabled !== undefined) live(pool).setEnabled(id, enabled)
          return live(pool).snapshot().find((b) => b.id === id)!
        })
      return await sendRevision(reply, revision, result)
    })

  app.post<{ Params: Static<typeof BackendParams> }>('/admin/pools/:pool/backends/:id/drain',
    { schema: { params: BackendParams, summary: 'Stop new requests to a backend; in-flight ones finish (202)', response: { 202: BackendChanged } } },
    async (req, reply) => {
      const pool = poolOf(req.params.pool, reply)
      if (pool === undefined) return reply
      const { id } = req.params
      const { revision, result } = await store.backendChange(
        { change: `drained backend ${pool.name}/${id}`, via: 'admin', expected: expectedRevision(req) },
        (ov) => {
          if (live(pool).find(id) === undefined) throw missing(pool, id)
          return withSet(ov, pool.name, id, { drain: true })
        },
        () => {
          void live(pool).drain(id)
          return live(pool).snapshot().find((b) => b.id === id)!
        })
      return await sendRevision(reply.code(202), revision, result)
    })

  app.delete<{ Params: Static<typeof BackendParams> }>('/admin/pools/:pool/backends/:id',
    { schema: { params: BackendParams, summary: 'Drain a backend, then remove it (202; it leaves once idle)' } },
    async (req, reply) => {
      const pool = poolOf(req.params.pool, reply)
      if (pool === undefined) return reply
      const { id } = req.params
      const { revision } = await store.backendChange(
        { change: `removed backend ${pool.name}/${id}`, via: 'admin', expected: expectedRevision(req) },
        (ov) => {
          if (live(pool).find(id) === undefined) throw missing(pool, id)
          return withRemoved(ov, pool.name, id)
        },
        () => {
          live(pool).removeBackend(id).catch((err: unknown) => { app.log.error({ err, pool: pool.name, backend: id }, 'removing backend failed') })
        })
      return await sendRevision(reply.code(202), revision, { pool: pool.name, backend: id, removing: true })
    })
}
