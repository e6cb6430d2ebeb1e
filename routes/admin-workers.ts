import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { PoolCounters } from '../lib/cluster/messages.js'
import type { WorkerInfo } from '../lib/cluster/primary.js'
import type { MetricsJson } from '../lib/cluster/metrics.js'
import { tokenCheck } from './admin.js'

/** What the primary of worker processes shows of them (lib/cluster/primary.ts WorkerSet). */
export interface WorkersView {
  list: () => WorkerInfo[]
  /** Every ready worker's counters summed per backend, and what each worker served. */
  counters: () => Promise<{ pools: PoolCounters, served: Map<number, number> }>
  /** Every ready worker's metrics registry as JSON. */
  metrics: () => Promise<MetricsJson[]>
}

const WorkerView = Type.Object({
  worker: Type.Integer({ description: 'Its number, 1 to workers; a replacement keeps the number' }),
  pid: Type.Union([Type.Integer(), Type.Null()], { description: 'null while it is being replaced' }),
  state: Type.String({ description: 'starting or ready' }),
  startedAt: Type.String({ format: 'date-time', description: 'When this process (the latest replacement) was started' }),
  restarts: Type.Integer({ description: 'Times this worker was replaced after it exited' }),
  requests: Type.Union([Type.Integer(), Type.Null()], { description: 'Requests and upgrades this process took in; null when it did not answer' })
})

export interface AdminWorkersRoutesOptions {
  /** Undefined in a single process: the list then has the process itself. */
  workers: WorkersView | undefined
  served: () => number
  token: string
}

/** `GET /admin/workers`: the processes serving client traffic. */
export default async function adminWorkersRoutes (app: FastifyInstance, opts: AdminWorkersRoutesOptions): Promise<void> {
  if (opts.token !== '') app.addHook('onRequest', tokenCheck(opts.token))
  const started = new Date(Date.now() - process.uptime() * 1000).toISOString()
  app.get('/admin/workers', {
    schema: { summary: 'The processes that serve client traffic', response: { 200: Type.Object({ primary: Type.Integer(), workers: Type.Array(WorkerView) }) } }
  }, async () => {
    const w = opts.workers
    if (w === undefined) return { primary: process.pid, workers: [{ worker: 0, pid: process.pid, state: 'ready', startedAt: started, restarts: 0, requests: opts.served() }] }
    const { served } = await w.counters()
    return { primary: process.pid, workers: w.list().map((x) => ({ ...x, pid: x.pid ?? null, requests: served.get(x.worker) ?? null })) }
  })
}
