import { Pool, errors as undiciErrors } from 'undici'
import type { Dispatcher } from 'undici'

/**
 * A small client for etcd's v3 HTTP/JSON gateway (`POST /v3/kv/range`, `/v3/kv/txn`,
 * `/v3/watch`, `/v3/lease/*`, `/v3/auth/authenticate`), over undici: the calls the config store
 * needs and nothing else (docs/design.md, "etcd client", says why not the etcd3 package). Keys
 * and values are strings here; the wire carries them base64, as the gateway wants. Revisions are
 * numbers (int64 strings on the wire, far below 2^53 for any real cluster); lease ids stay
 * strings (they use all 64 bits).
 *
 * Endpoints are tried in order; the one that answered last is tried first next time. A call that
 * gets no answer from any endpoint within `timeoutMs` throws EtcdUnavailable.
 */

/** `lease` is an int64 id, kept as its decimal string (it does not fit a double). */
export interface EtcdKv { key: string, value: string, modRevision: number, createRevision: number, lease: string }

export interface EtcdClientOptions {
  endpoints: string[]
  /** Connect and answer time of each call (store.etcd.dialTimeout). */
  timeoutMs: number
  username?: string
  password?: string
  /** PEM texts for https endpoints. */
  tls?: { ca?: string, cert?: string, key?: string }
}

/** etcd could not be reached, or answered with a server error: the store is disconnected. */
export class EtcdUnavailable extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EtcdUnavailable'
  }
}

/** etcd answered and refused the request (a bad request, a permission): not a reason to retry. */
export class EtcdRefused extends Error {
  constructor (message: string, readonly code: number | undefined) {
    super(message)
    this.name = 'EtcdRefused'
  }
}

/** One watch event: a put (value present) or a delete. */
export interface EtcdEvent { type: 'put' | 'delete', kv: EtcdKv }

export type WatchEnd =
  | { why: 'compacted', compactRevision: number }
  | { why: 'closed' }

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64')
const unb64 = (s: unknown): string => typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : ''
const num = (v: unknown): number => typeof v === 'string' || typeof v === 'number' ? Number(v) : 0

/** etcd's range_end for "every key starting with `prefix`", base64: the prefix with its last byte below 0xff plus one. */
export function prefixEnd64 (prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8')
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1))
      end[i]++
      return end.toString('base64')
    }
  }
  return Buffer.from([0]).toString('base64')
}

function kvOf (raw: Record<string, unknown>): EtcdKv {
  return { key: unb64(raw.key), value: unb64(raw.value), modRevision: num(raw.mod_revision), createRevision: num(raw.create_revision), lease: typeof raw.lease === 'string' ? raw.lease : '0' }
}

export class EtcdClient {
  private readonly pools: Pool[]
  private first = 0
  private token: string | undefined
  private closed = false

  constructor (private readonly opts: EtcdClientOptions) {
    if (opts.endpoints.length === 0) throw new Error('etcd: no endpoints')
    this.pools = opts.endpoints.map((e) => new Pool(e, {
      connections: 4,
      connectTimeout: opts.timeoutMs,
      // Watches stay open without data for as long as nothing changes.
      bodyTimeout: 0,
      headersTimeout: opts.timeoutMs,
      connect: opts.tls === undefined ? undefined : { ca: opts.tls.ca, cert: opts.tls.cert, key: opts.tls.key }
    }))
  }

  /** The value at `key` and the store's revision, or kv undefined when there is none. */
  async get (key: string): Promise<{ kv: EtcdKv | undefined, revision: number }> {
    const r = await this.call('/v3/kv/range', { key: b64(key) })
    const kvs = Array.isArray(r.kvs) ? r.kvs as Array<Record<string, unknown>> : []
    return { kv: kvs.length > 0 ? kvOf(kvs[0]) : undefined, revision: num((r.header as Record<string, unknown> | undefined)?.revision) }
  }

  /** Every key starting with `prefix`, in key order. */
  async list (prefix: string): Promise<{ kvs: EtcdKv[], revision: number }> {
    const r = await this.call('/v3/kv/range', { key: b64(prefix), range_end: prefixEnd64(prefix) })
    const kvs = Array.isArray(r.kvs) ? (r.kvs as Array<Record<string, unknown>>).map(kvOf) : []
    return { kvs, revision: num((r.header as Record<string, unknown> | undefined)?.revision) }
  }

  async put (key: string, value: string, lease?: string): Promise<number> {
    const r = await this.call('/v3/kv/put', { key: b64(key), value: b64(value), ...(lease === undefined ? {} : { lease }) })
    return num((r.header as Record<string, unknown> | undefined)?.revision)
  }

  async delete (key: string): Promise<void> {
    await this.call('/v3/kv/deleterange', { key: b64(key) })
  }

  /**
   * Puts `value` at `key` only if the key's mod revision is still `modRevision` (0: the key does
   * not exist yet), in one transaction. Not applied: the key as it is now (undefined if none).
   */
  async putIfUnchanged (key: string, value: string, modRevision: number): Promise<{ ok: true, modRevision: number } | { ok: false, current: EtcdKv | undefined }> {
    const r = await this.call('/v3/kv/txn', {
      compare: [{ target: 'MOD', key: b64(key), result: 'EQUAL', mod_revision: String(modRevision) }],
      success: [{ request_put: { key: b64(key), value: b64(value) } }],
      failure: [{ request_range: { key: b64(key) } }]
    })
    if (r.succeeded === true) return { ok: true, modRevision: num((r.header as Record<string, unknown> | undefined)?.revision) }
    const responses = Array.isArray(r.responses) ? r.responses as Array<Record<string, Record<string, unknown>>> : []
    const kvs = responses[0]?.response_range?.kvs
    return { ok: false, current: Array.isArray(kvs) && kvs.length > 0 ? kvOf(kvs[0] as Record<string, unknown>) : undefined }
  }

  /** A new lease's id (an int64, as a decimal string). */
  async leaseGrant (ttlSeconds: number): Promise<string> {
    const r = await this.call('/v3/lease/grant', { TTL: String(ttlSeconds) })
    if (typeof r.ID !== 'string') throw new EtcdUnavailable('etcd granted a lease without an id')
    return r.ID
  }

  /** Renews lease `id`; false when etcd no longer knows it (it expired: grant a new one). */
  async leaseKeepAlive (id: string): Promise<boolean> {
    const r = await this.call('/v3/lease/keepalive', { ID: id })
    const result = (r.result ?? r) as Record<string, unknown>
    return num(result.TTL) > 0
  }

  async leaseRevoke (id: string): Promise<void> {
    await this.call('/v3/lease/revoke', { ID: id })
  }

  /** Discards history before `revision` (tests and operators; the store itself never compacts). */
  async compact (revision: number): Promise<void> {
    await this.call('/v3/kv/compaction', { revision: String(revision), physical: true })
  }

  /**
   * Watches the keys starting with `prefix` from `startRevision` on, calling `onEvents` for each
   * batch, until `signal` aborts (resolves `closed`), the revision was compacted away (resolves
   * `compacted`: read the whole state again), or the stream breaks (throws EtcdUnavailable).
   * `onCreated` runs once etcd confirmed the watch.
   */
  async watch (prefix: string, startRevision: number, onEvents: (events: EtcdEvent[], revision: number) => void, signal: AbortSignal, onCreated?: () => void): Promise<WatchEnd> {
    const body = { create_request: { key: b64(prefix), range_end: prefixEnd64(prefix), start_revision: String(startRevision) } }
    let res: Dispatcher.ResponseData
    try {
      res = await this.request('/v3/watch', body, signal)
    } catch (err) {
      if (signal.aborted) return { why: 'closed' }
      throw err
    }
    let buffered = ''
    try {
      for await (const chunk of res.body) {
        buffered += (chunk as Buffer).toString('utf8')
        let nl: number
        // The gateway writes one JSON object per message; objects may arrive split or joined.
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim()
          buffered = buffered.slice(nl + 1)
          if (line === '') continue
          const msg = JSON.parse(line) as { result?: Record<string, unknown>, error?: unknown }
          const result = msg.result
          if (result === undefined) throw new EtcdUnavailable(`etcd watch: ${JSON.stringify(msg.error ?? msg)}`)
          if (result.created === true) onCreated?.()
          if (num(result.compact_revision) > 0) return { why: 'compacted', compactRevision: num(result.compact_revision) }
          if (result.canceled === true) throw new EtcdUnavailable(`etcd watch canceled: ${String(result.cancel_reason ?? '')}`)
          const events = Array.isArray(result.events) ? result.events as Array<Record<string, unknown>> : []
          if (events.length > 0) {
            onEvents(events.map((e) => ({ type: e.type === 'DELETE' ? 'delete' : 'put', kv: kvOf(e.kv as Record<string, unknown>) })),
              num((result.header as Record<string, unknown> | undefined)?.revision))
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return { why: 'closed' }
      if (err instanceof EtcdUnavailable || err instanceof SyntaxError) throw err
      throw new EtcdUnavailable(`etcd watch: ${(err as Error).message}`, { cause: err })
    }
    if (signal.aborted) return { why: 'closed' }
    throw new EtcdUnavailable('etcd closed the watch')
  }

  async close (): Promise<void> {
    this.closed = true
    await Promise.all(this.pools.map(async (p) => { await p.destroy().catch(() => {}) }))
  }

  /** A unary call: the answer's JSON, after authenticating when a user is configured. */
  private async call (path: string, body: unknown): Promise<Record<string, unknown>> {
    const res = await this.request(path, body)
    const text = await res.body.text()
    let json: Record<string, unknown>
    try {
      json = JSON.parse(text) as Record<string, unknown>
    } catch {
      throw new EtcdUnavailable(`etcd ${path}: answered ${res.statusCode} with no JSON`)
    }
    if (res.statusCode >= 200 && res.statusCode < 300 && json.error === undefined) return json
    const message = typeof json.message === 'string' ? json.message : (typeof json.error === 'string' ? json.error : `status ${res.statusCode}`)
    if (/invalid auth token|token is expired/i.test(message) && this.opts.username !== undefined) {
      this.token = undefined
      return await this.call(path, body)
    }
    if (res.statusCode >= 500 && !/permission denied|authentication failed/i.test(message)) throw new EtcdUnavailable(`etcd ${path}: ${message}`)
    throw new EtcdRefused(`etcd ${path}: ${message}`, typeof json.code === 'number' ? json.code : undefined)
  }

  private async request (path: string, body: unknown, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    if (this.closed) throw new EtcdUnavailable('etcd client closed')
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (this.opts.username !== undefined && path !== '/v3/auth/authenticate') headers.authorization = await this.authToken()
    let last: unknown
    for (let n = 0; n < this.pools.length; n++) {
      const i = (this.first + n) % this.pools.length
      try {
        const res = await this.pools[i].request({ method: 'POST', path, headers, body: JSON.stringify(body), signal })
        this.first = i
        return res
      } catch (err) {
        if (signal?.aborted === true) throw err
        last = err
        if (!(err instanceof undiciErrors.UndiciError) && (err as NodeJS.ErrnoException).code === undefined) throw err
      }
    }
    throw new EtcdUnavailable(`etcd is unreachable (${this.opts.endpoints.join(', ')}): ${(last as Error).message}`, { cause: last })
  }

  private async authToken (): Promise<string> {
    if (this.token !== undefined) return this.token
    const r = await this.call('/v3/auth/authenticate', { name: this.opts.username, password: this.opts.password ?? '' })
    if (typeof r.token !== 'string') throw new EtcdRefused('etcd authentication answered without a token', undefined)
    this.token = r.token
    return r.token
  }
}
