import { dirname } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type {} from '@fastify/swagger' // adds summary to route schemas
import type { GatewayConfig } from '../lib/config/types.js'
import { ConfigError, loadConfigText } from '../lib/config/load.js'
import { loadAlgorithmModules } from '../lib/config/modules.js'

export interface AdminConfigRoutesOptions {
  config: GatewayConfig
  /** The config file the gateway was started with; relative paths in a posted config resolve against its folder. */
  configPath: string | undefined
}

/** The effective config as JSON, with secrets replaced and CA certificates left out (their file paths stay). */
export function redact (config: GatewayConfig): unknown {
  return JSON.parse(JSON.stringify(config, (key: string, value: unknown) => {
    if (key === 'token' && typeof value === 'string' && value !== '') return '<redacted>'
    if (key === 'ca') return undefined
    return value
  }))
}

/**
 * Config routes of the admin API: `GET /admin/config` (the effective config, redacted) and
 * `POST /admin/config/validate` (a YAML or JSON body; JSON is YAML too): 200 `{ ok: true }`, or
 * 400 with every issue (path, message, line). Validation changes nothing. Applying a config
 * (PUT /admin/config, POST /admin/config/reload, SIGHUP) is not implemented yet.
 */
export default async function adminConfigRoutes (app: FastifyInstance, opts: AdminConfigRoutesOptions): Promise<void> {
  // This scope reads bodies as text: the loader parses them itself (and reports YAML line numbers).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => { done(null, body) })

  app.get('/admin/config', { schema: { summary: 'The effective config, secrets redacted' } }, async () => redact(opts.config))

  app.post<{ Body: string }>('/admin/config/validate', { schema: { summary: 'Check a YAML or JSON config without applying it' } },
    async (req, reply) => {
      const text = typeof req.body === 'string' ? req.body : ''
      try {
        const config = loadConfigText(text, { env: process.env, baseDir: opts.configPath === undefined ? process.cwd() : dirname(opts.configPath), source: 'posted config' })
        await loadAlgorithmModules(config, 'posted config', false)
        return { ok: true }
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err
        return await reply.code(400).send({ ok: false, error: err.code, issues: err.issues })
      }
    })
}
