/**
 * `npm run bench`: req/s and latency straight to a demo backend, then through the gateway.
 *
 *   node dist/bench/run.js [--mode http|tls|h2|grpc] [--duration S] [--connections C] [--streams N]
 *                          [--body BYTES] [--warmup S] [--access-log] [--no-metrics]
 *
 * --mode http (the default) is described here; tls, h2 and grpc run the same setup with a TLS
 * listener on the bench's self-signed certificate (certs.ts), their extra backends and their own
 * measurements (modes.ts), and end with their own JSON line (report.ts modeSummary()).
 *
 * Starts three demo backends in this process (in a worker thread), writes a temporary config
 * (round-robin over them, quiet logs unless --access-log), spawns dist/server.js on free ports,
 * waits for it to answer, then runs autocannon per target: a warm-up (not counted) and a measured
 * run. Prints a table, the gateway/direct ratio, and a one-line JSON summary last (for notes).
 * Exit code 0 only if every request through the gateway got a 2xx and it stopped with code 0.
 *
 * Bounded: every run has a fixed duration and a watchdog ends the whole bench if it overruns.
 * Cleanup (also on errors and Ctrl-C): stops the gateway child by its PID (SIGTERM, then SIGKILL
 * after SIGKILL_AFTER_MS), closes the backends and removes the temporary directory (kept, with
 * its gateway.log, when the gateway failed).
 *
 * This file is the sequence and the cleanup; the parts live in bench/gateway/:
 *   options.ts          command line and usage
 *   backends.ts         the backend worker thread, main side (backend-worker.ts is the worker)
 *   streams.ts          WebSocket/TCP echo servers and load loops
 *   config.ts           free ports and the gateway's temporary YAML config
 *   gateway.ts          the gateway child process: spawn, readiness, stop
 *   load.ts             autocannon runs (measure) and stopping them
 *   measure-streams.ts  the WebSocket and TCP measurements
 *   report.ts           header, table, ratio and the JSON summary
 *   certs.ts            the self-signed certificate of the TLS listener (tls, h2, grpc modes)
 *   mode-backends.ts    the modes' extra servers: bare https, h2c, gRPC echo (grpc-echo.ts)
 *   modes.ts            the tls, h2 and grpc measurements; loop.ts and clients.ts their loads
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, constants, tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBackendWorker, type BackendGroup } from './gateway/backends.js'
import { makeBenchCert } from './gateway/certs.js'
import { HOST, out } from './gateway/common.js'
import { freePorts, gatewayYaml, modeYaml } from './gateway/config.js'
import { READY_TIMEOUT_MS, SERVER, spawnGateway, stopChild, waitReady } from './gateway/gateway.js'
import { measure, stopLoad } from './gateway/load.js'
import { measureStreams } from './gateway/measure-streams.js'
import { runGrpc, runH2, runTls, type ModeContext, type ModeResult } from './gateway/modes.js'
import { parseOptions, USAGE, type Mode, type Options } from './gateway/options.js'
import { modeSummary, printHeader, printHttp, summary } from './gateway/report.js'

/** Measured targets per mode (each a warm-up plus a run), for the watchdog's budget. */
const RUNS: Record<Mode, number> = { http: 6, tls: 6, h2: 3, grpc: 3 }
const MODE_RUNS: Record<Exclude<Mode, 'http'>, (c: ModeContext) => Promise<ModeResult>> = { tls: runTls, h2: runH2, grpc: runGrpc }

async function main (): Promise<number> {
  let opts: Options
  try {
    opts = parseOptions(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}`)
    return 2
  }
  if (!existsSync(SERVER)) {
    process.stderr.write(`bench: ${SERVER} not found: build first (npm run build), or use npm run bench.\n`)
    return 1
  }
  const cores = availableParallelism()
  printHeader(opts, cores)

  let backends: BackendGroup | undefined
  let child: ChildProcess | undefined
  let dir: string | undefined
  let keepDir = false
  let ready = false
  let stopping = false
  let cleaning: Promise<void> | undefined
  const cleanup = (): Promise<void> => (cleaning ??= (async () => {
    stopping = true
    stopLoad()
    if (child !== undefined) {
      const how = await stopChild(child)
      if (how !== undefined && how !== 'code 0') { out(`bench: the gateway ended with ${how} (expected code 0 after SIGTERM)`); keepDir = true }
    }
    await backends?.close()
    if (dir !== undefined && !keepDir) rmSync(dir, { recursive: true, force: true })
    if (dir !== undefined && keepDir) out(`bench: kept ${dir} (config and gateway.log)`)
  })())

  // Ctrl-C or SIGTERM: stop the load, then clean up as on any other exit.
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\nbench: ${signal}: cleaning up\n`)
    void cleanup().then(() => process.exit(128 + constants.signals[signal]))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  // Watchdog: the runs are timed, so only a hang gets here. 10 s a run covers loop.ts's drain of
  // the warm-up and the measured run (5 s each at most).
  const budgetMs = RUNS[opts.mode] * ((opts.warmup + opts.duration) * 1000 + 10_000) + READY_TIMEOUT_MS + 60_000
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: still running after ${budgetMs / 1000} s: giving up\n`)
    void cleanup().then(() => process.exit(1))
  }, budgetMs)
  watchdog.unref()

  let code = 1
  try {
    dir = mkdtempSync(join(tmpdir(), 'ultrabalancer-bench-'))
    const cert = opts.mode === 'http' ? undefined : makeBenchCert(dir)
    backends = await startBackendWorker({ mode: opts.mode, cert })
    const [port, adminPort, tcpPort, tlsPort, h2cPort] = await freePorts(5) as [number, number, number, number, number]
    const config = join(dir, 'gateway.yaml')
    const logFile = join(dir, 'gateway.log')
    writeFileSync(config, cert === undefined
      ? gatewayYaml(port, adminPort, tcpPort, backends, opts.accessLog, opts.metrics)
      : modeYaml({ port, adminPort, tlsPort, h2cPort }, backends, cert, opts))
    child = spawnGateway(config, logFile)
    child.once('exit', (exitCode, signal) => {
      if (!ready || stopping) return
      keepDir = true
      process.stderr.write(`bench: the gateway exited during the run (code ${exitCode}, signal ${signal}); see ${logFile}\n`)
    })

    const gatewayUrl = `http://${HOST}:${port}/`
    try {
      await waitReady(gatewayUrl, child)
    } catch (err) {
      keepDir = true
      const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-30).join('\n')
      throw new Error(`${(err as Error).message}\n--- last lines of ${logFile} ---\n${tail}`)
    }
    ready = true
    out(`gateway pid ${child.pid} on ${gatewayUrl}, backends on ports ${backends.ports.join(', ')}`)

    if (cert !== undefined && opts.mode !== 'http') {
      out(`gateway TLS listener on https://${HOST}:${tlsPort}/${opts.mode === 'grpc' ? `, h2c listener on port ${h2cPort}` : ''}`)
      const result = await MODE_RUNS[opts.mode]({ opts, backends, cert, port, tlsPort, h2cPort })
      if (result.failed > 0) out(`  warning: ${result.failed} failed requests or calls through the gateway; see ${logFile}`)
      out()
      out(modeSummary(opts, cores, result))
      code = result.failed > 0 ? 1 : 0
    } else {
      const direct = await measure('direct', `http://${HOST}:${backends.ports[0]}/`, opts)
      const gateway = await measure('gateway', gatewayUrl, opts)
      printHttp(direct, gateway, opts, logFile)
      const streams = await measureStreams(opts, backends, port, tcpPort)
      out()
      out(summary(opts, cores, direct, gateway, streams))
      // Failed requests through the gateway make the numbers meaningless: say so in the exit code.
      code = gateway.non2xx + gateway.errors + streams.errors > 0 ? 1 : 0
    }
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`)
  } finally {
    clearTimeout(watchdog)
    await cleanup()
  }
  // keepDir: the gateway died or did not stop cleanly on SIGTERM.
  return keepDir ? Math.max(code, 1) : code
}

process.exitCode = await main()
