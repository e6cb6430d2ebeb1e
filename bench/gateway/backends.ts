/**
 * The backends of `npm run bench`, main-thread side. They run in a worker thread of this process
 * (bench/gateway/backend-worker.ts): on the main thread they would share one event loop with
 * autocannon, and the "direct" baseline would measure that loop's limit (about a third of what a
 * backend can do here) rather than the backend's.
 *
 * startBackendWorker() resolves once the worker has posted its ports (rejects if the worker fails
 * before that); close() tells the worker to close its servers and resolves when it has exited.
 * The mode (and, for tls, the bench certificate) say which extra servers it starts
 * (mode-backends.ts); http starts none.
 */
import { Worker } from 'node:worker_threads'
import type { BenchCert } from './certs.js'
import type { ModePorts } from './mode-backends.js'
import type { Mode } from './options.js'

/** Three demo backends (HTTP), a WebSocket echo server and a TCP echo server, all on HOST. */
export interface BackendGroup { ports: number[], wsPort: number, tcpPort: number, extra: ModePorts, close (): Promise<void> }

/** What the worker posts once it listens. */
export interface BackendPorts { ports: number[], wsPort: number, tcpPort: number, extra: ModePorts }

/** The worker's workerData. */
export interface WorkerInput { mode: Mode, cert?: BenchCert }

export function startBackendWorker (input: WorkerInput = { mode: 'http' }): Promise<BackendGroup> {
  const worker = new Worker(new URL('./backend-worker.js', import.meta.url), { workerData: input })
  return new Promise((resolve, reject) => {
    worker.once('error', reject)
    worker.once('message', ({ ports, wsPort, tcpPort, extra }: BackendPorts) => {
      worker.off('error', reject)
      worker.on('error', err => process.stderr.write(`bench: backend worker failed: ${err.message}\n`))
      const exited = new Promise<void>(resolve => worker.once('exit', () => resolve()))
      resolve({ ports, wsPort, tcpPort, extra, close: () => { worker.postMessage('close'); return exited } })
    })
  })
}
