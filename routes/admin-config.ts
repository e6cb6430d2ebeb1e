import { dirname } from 'node:path'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type {} from '@fastify/swagger' // adds summary to route schemas
import type { GatewayConfig } from '../lib/config/types.js'
import { ConfigError, loadConfigFile, loadConfigText } from '../lib/config/load.js'
import { loadAlgorithmModules } from '../lib/config/modules.js'
import { GatewayError } from '../lib/errors.js'
import { replyError } from '../lib/http/error-reply.js'

export interface AdminConfigRoutesOptions {
  /** The config in force now (it changes with reloads). */
  config: () => GatewayConfig
  /** Applies a validated config (the reload plugin). */
  reload: (next: GatewayConfig) => Promise<unknown>
  /** The config file the gateway was started with; relative paths in a posted config resolve against its folder. */
  configPath: string | undefined
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
 * Config routes of the admin API: `GET /admin/config` (the effective config, redacted) and
 * `POST /admin/config/validate` (a YAML or JSON body; JSON is YAML too): 200 `{ ok: true }`, or
 * 400 with every issue (path, message, line); validation changes nothing. `PUT /admin/config`
 * validates a posted config and applies it; `POST /admin/config/reload` re-reads the file. An
 * invalid config is refused with its issues and the running one keeps serving.
 */
export default async function adminConfigRoutes (app: FastifyInstance, opts: AdminConfigRoutesOptions): Promise<void> {
  // This scope reads bodies as text: the loader parses them itself (and reports YAML line numbers).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => { done(null, body) })

  app.get('/admin/config', { schema: { summary: 'The effective config, secrets redacted' } }, async () => redact(opts.config()))

  const baseDir = opts.configPath === undefined ? process.cwd() : dirname(opts.configPath)
  /** Runs `fn`; a ConfigError becomes 400 with every issue, and nothing is applied. */
  const configResult = async (reply: FastifyReply, fn: () => Promise<unknown>): Promise<unknown> => {
    try {
      return { ok: true, ...(await fn() as object) }
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

  app.put<{ Body: string }>('/admin/config', { schema: { summary: 'Validate a YAML or JSON config, then apply it atomically' } },
    async (req, reply) => await configResult(reply, async () =>
      await opts.reload(loadConfigText(bodyText(req.body), { env: process.env, baseDir, source: 'posted config' }))))

  app.post('/admin/config/reload', { schema: { summary: 'Re-read the config file and apply it' } },
    async (_req, reply) => {
      if (opts.configPath === undefined) throw new GatewayError('GW_ADMIN_CONFLICT', ['the gateway was not started from a config file'])
      return await configResult(reply, async () => await opts.reload(loadConfigFile(opts.configPath!, process.env)))
    })
}
