import { dirname } from 'node:path'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type {} from '@fastify/swagger' // adds summary to route schemas
import type { GatewayConfig } from '../lib/config/types.js'
import { ConfigError, loadConfigText, loadConfigValue, parseConfigText } from '../lib/config/load.js'
import { loadAlgorithmModules } from '../lib/config/modules.js'
import { GatewayError } from '../lib/errors.js'
import { replyError } from '../lib/http/error-reply.js'
import type { ConfigState } from '../lib/store/config-state.js'
import { applyConfigFile } from '../lib/store/file-reload.js'
import { etagOf, expectedRevision } from './revision.js'
import type { Fleet } from '../plugins/store.js'

export interface AdminConfigRoutesOptions {
  /** The config's owner: what is in force, its revision and history, and every change. */
  store: ConfigState
  /** The config file the gateway was started with; relative paths in a posted config resolve against its folder. */
  configPath: string | undefined
  /** A fleet store's members (etcd); undefined: this gateway alone. */
  fleet: Fleet | undefined
}

/**
 * The effective config as JSON, with secrets (admin token, key passphrases) replaced and PEM
 * texts read at load (CA certificates, a pool's client certificate and private key) left out:
 * their file paths stay.
 */
export function redact (config: GatewayConfig): unknown {
  return JSON.parse(JSON.stringify(config, (key: string, value: unknown) => {
    if ((key === 'token' || key === 'passphrase') && typeof value === 'string' && value !== '') return '<redacted>'
    if (key === 'ca' || (typeof value === 'string' && value.includes('-----BEGIN'))) return undefined
    return value
  }))
}

const bodyText = (body: unknown): string => typeof body === 'string' ? body : ''

/**
 * Config routes of the admin API (docs/admin.md, docs/config-store.md): `GET /admin/config` (the
 * config in force, redacted, with its `revision` and ETag), `GET /admin/config/history` and
 * `GET /admin/config/store`, `POST /admin/config/validate` (a YAML or JSON body; JSON is YAML
 * too: 200 `{ ok: true }`, or 400 with every issue, changing nothing). The writes, each a new
 * revision (If-Match optional): `PUT /admin/config` applies a posted config, `POST
 * /admin/config/reload` re-reads the file, `POST /admin/config/reset` re-reads it and drops the
 * admin API's backend changes. An invalid config is refused with its issues and the running
 * one keeps serving.
 */
export default async function adminConfigRoutes (app: FastifyInstance, opts: AdminConfigRoutesOptions): Promise<void> {
  const { store } = opts
  // This scope reads bodies as text: the loader parses them itself (and reports YAML line numbers).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => { done(null, body) })

  app.get('/admin/config', { schema: { summary: 'The effective config, secrets redacted, with its revision (also the ETag)' } },
    async (_req, reply) => {
      const revision = store.revision
      return await reply.header('etag', etagOf(revision)).send({ ...redact(store.config()) as object, revision })
    })

  app.get('/admin/config/history', { schema: { summary: 'The latest changes to the config, newest first' } },
    async () => ({ revision: store.revision, history: [...store.history()].reverse() }))

  app.get('/admin/config/store', { schema: { summary: 'Where the config is kept, whether it can be written, and the admin API changes kept on top of the config document' } },
    async () => ({ revision: store.revision, store: store.where, connected: store.connected, document: store.baseSource(), overrides: store.overrides() }))

  app.get('/admin/cluster', { schema: { summary: 'The gateways of the fleet that are alive (registered under a lease in etcd); this one alone with the file store' } },
    async () => {
      const self = { revision: store.revision, store: store.where, connected: store.connected, behind: store.behind }
      if (opts.fleet === undefined) return { ...self, instance: null, members: [] }
      let members
      try {
        members = await opts.fleet.members()
      } catch (err) {
        throw new GatewayError('GW_FLEET_UNAVAILABLE', ['etcd does not answer'], err)
      }
      return { ...self, instance: opts.fleet.instance, members }
    })

  const baseDir = opts.configPath === undefined ? process.cwd() : dirname(opts.configPath)
  /** Runs `fn`; a ConfigError becomes 400 with every issue, and nothing is applied. A result with a revision sets the ETag. */
  const configResult = async (reply: FastifyReply, fn: () => Promise<object>): Promise<unknown> => {
    try {
      const result = await fn()
      if ('revision' in result && typeof result.revision === 'number') void reply.header('etag', etagOf(result.revision))
      return { ok: true, ...result }
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      return await replyError(reply, err, { ok: false, issues: err.issues })
    }
  }

  app.post<{ Body: string }>('/admin/config/validate', { schema: { summary: 'Check a YAML or JSON config without applying it' } },
    async (req, reply) => await configResult(reply, async () => {
      const config = loadConfigText(bodyText(req.body), { env: process.env, baseDir, source: 'posted config' })
      await loadAlgorithmModules(config, 'posted config')
      return {}
    }))

  app.put<{ Body: string }>('/admin/config', { schema: { summary: 'Validate a YAML or JSON config, then apply it atomically as a new revision' } },
    async (req, reply) => await configResult(reply, async () => {
      const posted = postedDocument(bodyText(req.body), expectedRevision(req), baseDir)
      return await store.baseChange({ change: 'config put through the admin API', via: 'admin', expected: posted.expected },
        { raw: posted.base, source: 'api', keepOverrides: true, local: 'keep' })
    }))

  const fromFile = (reset: boolean) => async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    if (opts.configPath === undefined) throw new GatewayError('GW_ADMIN_CONFLICT', ['the gateway was not started from a config file'])
    const expected = expectedRevision(req)
    return await configResult(reply, async () => await applyConfigFile(store, opts.configPath!, process.env, { reset, via: 'admin', expected }))
  }
  app.post('/admin/config/reload', { schema: { summary: 'Re-read the config file and apply it as a new revision; admin API backend changes stay on top' } }, fromFile(false))
  app.post('/admin/config/reset', { schema: { summary: 'Re-read the config file and apply it as a new revision, dropping the admin API backend changes' } }, fromFile(true))
}

/**
 * A posted config: the document as written, loaded. A top-level `revision` (what GET
 * /admin/config answers with) is taken out and read as If-Match, so a config read, edited and
 * put back is refused when someone changed it meanwhile.
 */
function postedDocument (text: string, ifMatch: number | undefined, baseDir: string): { base: unknown, config: GatewayConfig, expected: number | undefined } {
  const opts = { env: process.env, baseDir, source: 'posted config' }
  const raw = parseConfigText(text, 'posted config')
  if (raw === null || typeof raw !== 'object' || !('revision' in raw)) return { base: raw, config: loadConfigText(text, opts), expected: ifMatch }
  const { revision, ...base } = raw as Record<string, unknown>
  if (typeof revision !== 'number' || !Number.isInteger(revision)) throw new ConfigError([{ path: 'revision', message: 'must be the integer revision the config was read at (GET /admin/config)' }], 'posted config')
  if (ifMatch !== undefined && ifMatch !== revision) throw new GatewayError('GW_ADMIN_BAD_REQUEST', [`If-Match says revision ${ifMatch} but the body's revision is ${revision}`])
  return { base, config: loadConfigValue(base, opts), expected: revision }
}
