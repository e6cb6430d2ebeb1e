/**
 * Worker-thread entry of `npm run bench` (started by bench/gateway/backends.ts): three demo
 * backends, a WebSocket echo server and a TCP echo server on free ports of HOST, and the servers
 * of the run's mode (mode-backends.ts; workerData is a WorkerInput). Posts their ports
 * (BackendPorts) once all listen; on any message from the main thread it closes them all and
 * closes its port, so the worker exits.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { startBackend, type RunningBackend } from '../../demo/backend.js'
import type { BackendPorts, WorkerInput } from './backends.js'
import { HOST } from './common.js'
import { startModeBackends } from './mode-backends.js'
import { startEchoServers, type EchoServers } from './streams.js'

const input = workerData as WorkerInput
const backends: RunningBackend[] = []
for (let i = 1; i <= 3; i++) backends.push(await startBackend({ name: `backend-${i}`, host: HOST }))
const echo: EchoServers = await startEchoServers(HOST)
const extra = await startModeBackends(input.mode, input.cert)
parentPort!.once('message', () => {
  void Promise.allSettled([...backends.map(b => b.close()), echo.close(), extra.close()]).then(() => parentPort!.close())
})
parentPort!.postMessage({ ports: backends.map(b => b.port), wsPort: echo.wsPort, tcpPort: echo.tcpPort, extra: extra.ports } satisfies BackendPorts)
