/**
 * Scrapes a gateway's admin /metrics over a real socket and parses it with a Prometheus text
 * format parser (parse-prometheus-text-format), never with regular expressions.
 */
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { send } from './gateway.js'

interface Sample { value?: string, labels?: Record<string, string>, buckets?: Record<string, string>, count?: string, sum?: string }
export interface Family { name: string, help: string, type: string, metrics: Sample[] }

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[]

export interface Scrape {
  text: string
  families: Map<string, Family>
  /** The value of the one sample of `name` whose labels include all of `labels`; 0 when none. */
  value: (name: string, labels?: Record<string, string>) => number
  /**
   * A histogram's observation count (its +Inf bucket). The parser folds a histogram's series into
   * one sample without labels, so this is only meaningful for histograms with a single series:
   * tests keep to one pool (and one answering backend) where they count.
   */
  count: (name: string) => number
}

/** Makes the admin server listen on port 0 (once) and scrapes it. */
export async function scrape (app: FastifyInstance, path = '/metrics'): Promise<Scrape> {
  const admin = app.adminServer
  if (!admin.server.listening) await admin.listen({ port: 0, host: '127.0.0.1' })
  const r = await send(`http://127.0.0.1:${(admin.server.address() as AddressInfo).port}${path}`)
  if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}`)
  return parseScrape(r.text)
}

/** Parses Prometheus text (from any gateway, a child process's included). */
export function parseScrape (text: string): Scrape {
  const families = new Map(parse(text).map((f) => [f.name, f]))
  const matching = (name: string, labels: Record<string, string>): Sample[] =>
    (families.get(name)?.metrics ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  return {
    text,
    families,
    value: (name, labels = {}) => matching(name, labels).reduce((sum, m) => sum + Number(m.value ?? 0), 0),
    count: (name) => Number(families.get(name)?.metrics[0]?.buckets?.['+Inf'] ?? 0)
  }
}
