/**
 * The store CLI (docs/store-cli.md): seeds and inspects the fleet store in etcd
 * (docs/config-store.md) without a gateway running. store-cli.ts only hands it argv and writes
 * what runCli returns; everything here answers with a CliResult instead of printing or exiting,
 * so the tests call it directly.
 *
 * Every failure is one line on stderr and exit 2 (diff(1)'s convention, so `diff`'s 1 keeps
 * meaning "different"): nothing here prints a stack trace.
 */
import { structuredPatch } from 'diff'
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { dump } from 'js-yaml'
import { ConfigError, loadConfigText, parseConfigText, readConfigFile, resolveConfigPath } from '../config/load.js'
import { isObj } from '../config/fields.js'
import { fleetDocuments, type DocumentLoad } from './documents.js'
import { EtcdRefused, EtcdUnavailable, type EtcdClient } from './etcd-client.js'
import { etcdClientFor } from './open-etcd.js'
import { applyOverrides, countOverrides } from './overrides.js'
import { CONFIG_KEY, parseState } from './state-etcd.js'
import { sha256 } from './state-file.js'
import type { HistoryEntry, Overrides, StoredState } from './types.js'

const NAME = 'ultrabalancer-store'

export const USAGE = `Usage: node dist/store-cli.js <push|pull|diff> [--config PATH] [FILE] [--reset]
  --config PATH  a gateway config whose store.etcd says where etcd is
                 (default: $GATEWAY_CONFIG, else config/gateway.yaml)

  push FILE [--reset]  validate FILE's shared sections (pools, routes, plugins, websocket) with
                 the local sections of --config, as a gateway of the fleet will load them, and
                 write them to etcd as the next revision (revision 1 into an empty store). The
                 admin API changes in etcd stay on top where they still apply; --reset drops them.
                 Prints: pushed FILE to etcd as revision N (K admin API change(s) kept on top)
  pull           print the stored document as YAML (as written: \${VAR} placeholders unresolved,
                 no admin API changes applied), then a # comment block with the revision, the
                 last change, and the admin API changes kept on top of it. Without the comments
                 it is a file that push accepts.
  diff FILE      compare FILE's shared sections with the stored document (as parsed, before
                 \${VAR} substitution; mapping key order ignored): a unified line diff of the
                 two as YAML, then the number of admin API changes kept on top.

Exit codes: 0 done (diff: the same), 1 diff: different, 2 an error (one line on stderr).
`

export interface CliResult { code: 0 | 1 | 2, stdout: string, stderr: string }

/** Where the commands work: the fleet's key in etcd, and what --config says about the fleet. */
export interface CliContext {
  client: EtcdClient
  /** `<prefix>config`. */
  key: string
  /** The --config file, for messages. */
  configPath: string
  /** --config's local sections: a pushed document is checked with them, as a gateway loads it. */
  local: unknown
  /** Environment and folder for that check: the --config file's, as a gateway using it has. */
  load: Omit<DocumentLoad, 'source'>
  /** store.history of --config. */
  history: number
  /** Who a push is, in the history: `cli/<host name>`. */
  instance: string
  /** FILE arguments resolve against it (and are shown as given). */
  cwd: string
}

/** A failure that is reported as its message, in one line, with exit 2. */
export class CliError extends Error {}

/** Reads and checks the --config file and opens its etcd client (not contacted yet). */
export function openContext (configPath: string, env: NodeJS.ProcessEnv, cwd: string): CliContext {
  const { text, baseDir } = readConfigFile(configPath)
  const config = loadConfigText(text, { env, baseDir, source: configPath })
  const etcd = config.store.etcd
  if (etcd === undefined) throw new CliError(`${configPath} has no store.etcd section: the store CLI works on the fleet store in etcd (docs/config-store.md)`)
  const load = { env, baseDir }
  const { local } = fleetDocuments({ ...load, source: configPath }).split(parseConfigText(text, configPath))
  return { client: etcdClientFor(etcd), key: `${etcd.prefix}${CONFIG_KEY}`, configPath, local, load, history: config.store.history, instance: `cli/${hostname()}`, cwd }
}

/** The state in etcd and the key's mod revision (0: no key), or a CliError for a value that is not a state. */
async function read (ctx: CliContext): Promise<{ state: StoredState | undefined, modRevision: number }> {
  const { kv } = await ctx.client.get(ctx.key)
  if (kv === undefined) return { state: undefined, modRevision: 0 }
  const state = parseState(kv.value)
  if (typeof state === 'string') throw new CliError(`etcd key ${ctx.key} holds something that is not a config state (${state}): remove it (etcdctl del ${ctx.key}) and push again`)
  return { state, modRevision: kv.modRevision }
}

async function readSome (ctx: CliContext): Promise<StoredState> {
  const { state } = await read(ctx)
  if (state === undefined) throw new CliError(`etcd has no config at ${ctx.key} yet: push one (node dist/store-cli.js push FILE)`)
  return state
}

/** A FILE argument's text and document, as parsed (ConfigError when unreadable or not YAML). */
function readDocument (ctx: CliContext, file: string): { text: string, raw: unknown } {
  const { text } = readConfigFile(resolve(ctx.cwd, file))
  return { text, raw: parseConfigText(text, file) }
}

/** Writes attempted before giving up when other writers keep moving the key on. */
const PUSH_ATTEMPTS = 5

/**
 * `push FILE`: the file is refused (ConfigError) before etcd is read when its shared sections
 * do not load with --config's local ones. Each attempt reads the state, builds the next revision
 * from it, and writes it only if the key did not move meanwhile (a gateway's admin change can
 * land in between: it is then kept too).
 */
export async function push (ctx: CliContext, file: string, opts: { reset: boolean }): Promise<CliResult> {
  const { text, raw } = readDocument(ctx, file)
  const documents = fleetDocuments({ ...ctx.load, source: `${file} (its shared sections with the local sections of ${ctx.configPath})` })
  const { shared } = documents.split(raw)
  const config = documents.load(shared, ctx.local)
  for (let attempt = 1; attempt <= PUSH_ATTEMPTS; attempt++) {
    const { state, modRevision } = await read(ctx)
    const before: Overrides = state?.overrides ?? {}
    const { kept, dropped } = applyOverrides(config, opts.reset ? {} : before)
    const revision = (state?.revision ?? 0) + 1
    const reset = opts.reset && countOverrides(before) > 0 ? `; --reset dropped ${countOverrides(before)} admin API change(s)` : ''
    const entry: HistoryEntry = {
      revision,
      time: new Date().toISOString(),
      change: `pushed ${file} with the store CLI${reset}${dropped.length > 0 ? `; dropped: ${dropped.join('; ')}` : ''}`,
      instance: ctx.instance,
      via: 'admin',
      token: null
    }
    const next: StoredState = { format: 1, revision, base: shared, baseSource: 'file', fileSha256: sha256(text), overrides: kept, history: [...(state?.history ?? []), entry].slice(-ctx.history) }
    const r = await ctx.client.putIfUnchanged(ctx.key, JSON.stringify(next), modRevision)
    if (!r.ok) continue
    return {
      code: 0,
      stdout: `pushed ${file} to etcd as revision ${revision} (${countOverrides(kept)} admin API change(s) kept on top)\n`,
      stderr: dropped.map((d) => `${NAME}: dropped an admin API change that no longer applies: ${d}\n`).join('')
    }
  }
  throw new CliError(`etcd key ${ctx.key} kept changing while pushing (${PUSH_ATTEMPTS} attempts): nothing was written; try again`)
}

/** `pull`: the stored document as YAML, then a comment block (see USAGE). */
export async function pull (ctx: CliContext): Promise<CliResult> {
  const state = await readSome(ctx)
  const last = state.history.at(-1)
  const changes = overrideLines(state.overrides)
  const trailer = [
    '',
    `# etcd ${ctx.key}: revision ${state.revision}`,
    ...(last === undefined ? [] : [`# last change: ${last.change} (${last.instance}, ${last.time})`]),
    `# admin API changes kept on top of this document: ${changes.length === 0 ? 'none' : changes.length}`,
    ...changes.map((l) => `#   ${l}`)
  ]
  return { code: 0, stdout: yamlOf(state.base) + trailer.join('\n') + '\n', stderr: '' }
}

/** `diff FILE`: exit 0 the same, 1 different (see USAGE). FILE is parsed, not validated. */
export async function diff (ctx: CliContext, file: string): Promise<CliResult> {
  const documents = fleetDocuments({ ...ctx.load, source: file })
  const mine = documents.split(readDocument(ctx, file).raw).shared
  const state = await readSome(ctx)
  // The stored base holds no local sections; split anyway, as a gateway ignores them (documents.ts).
  const stored = documents.split(state.base).shared
  const lines = lineDiff(linesOf(yamlOf(canonical(stored))), linesOf(yamlOf(canonical(mine))))
  const kept = `${countOverrides(state.overrides)} admin API change(s) kept on top in etcd`
  if (lines.length === 0) return { code: 0, stdout: `${file} is the same as etcd revision ${state.revision} (${kept})\n`, stderr: '' }
  const out = [`--- etcd ${ctx.key} (revision ${state.revision})`, `+++ ${file} (shared sections)`, ...lines, `# ${kept}: push keeps them where they still apply, push --reset drops them`]
  return { code: 1, stdout: out.join('\n') + '\n', stderr: '' }
}

/**
 * A unified diff (`@@ -a,n +b,m @@` hunks, `context` unchanged lines around each change) of two
 * line lists, as diff -u prints them without its two file lines; [] when they are equal.
 * jsdiff's structuredPatch does the work.
 */
export function lineDiff (a: readonly string[], b: readonly string[], context = 3): string[] {
  const text = (lines: readonly string[]): string => lines.length === 0 ? '' : `${lines.join('\n')}\n`
  const patch = structuredPatch('a', 'b', text(a), text(b), undefined, undefined, { context })
  return patch.hunks.flatMap((h) => [`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`, ...h.lines])
}

function yamlOf (v: unknown): string {
  return dump(v, { lineWidth: -1, noRefs: true })
}

function linesOf (text: string): string[] {
  return text.replace(/\n$/, '').split('\n')
}

/** `v` with every mapping's keys sorted: key order means nothing in YAML, list order does. */
function canonical (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical)
  if (isObj(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]))
  return v
}

/** One line per admin API change, as pull prints them. */
function overrideLines (ov: Overrides): string[] {
  const out: string[] = []
  for (const [pool, o] of Object.entries(ov)) {
    for (const id of o.remove) out.push(`${pool}: removed backend ${id}`)
    for (const a of o.add) out.push(`${pool}: added backend ${a.id} (${a.url}, weight ${a.weight})`)
    for (const [id, s] of Object.entries(o.set)) out.push(`${pool}: backend ${id}: ${Object.entries(s).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`)
  }
  return out
}

interface Args { command?: string, file?: string, reset: boolean, help: boolean }

/** argv without --config and its value (resolveConfigPath reads those); a usage problem is a CliError. */
export function parseArgs (argv: readonly string[]): Args {
  const args: Args = { reset: false, help: false }
  const positional: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') { positional.push(...argv.slice(i + 1)); break }
    if (a === '--help' || a === '-h') args.help = true
    else if (a === '--reset') args.reset = true
    else if (a === '--config') i++
    else if (a.startsWith('--config=')) continue
    else if (a.startsWith('-')) throw new CliError(`unknown option ${a}`)
    else positional.push(a)
  }
  if (args.help) return args
  const [command, file, ...extra] = positional
  if (command === undefined) throw new CliError('a command is needed: push, pull or diff')
  if (!['push', 'pull', 'diff'].includes(command)) throw new CliError(`unknown command ${command}: push, pull or diff`)
  if (command === 'pull' && file !== undefined) throw new CliError('pull takes no FILE')
  if (command !== 'pull' && file === undefined) throw new CliError(`${command} needs a FILE`)
  if (extra.length > 0) throw new CliError(`unexpected argument ${extra[0]}`)
  if (args.reset && command !== 'push') throw new CliError('--reset is for push only')
  return { ...args, command, file }
}

/** The whole CLI: argv (without node and the script) in, what to print and the exit code out. */
export async function runCli (argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<CliResult> {
  let args: Args
  try {
    args = parseArgs(argv)
  } catch (err) {
    return { code: 2, stdout: '', stderr: `${NAME}: ${oneLine(err)} (--help shows the usage)\n` }
  }
  if (args.help) return { code: 0, stdout: USAGE, stderr: '' }
  let ctx: CliContext | undefined
  let configPath = '--config'
  try {
    configPath = resolveConfigPath(argv, env, cwd)
    ctx = openContext(configPath, env, cwd)
    if (args.command === 'push') return await push(ctx, args.file!, { reset: args.reset })
    if (args.command === 'diff') return await diff(ctx, args.file!)
    return await pull(ctx)
  } catch (err) {
    const hint = err instanceof EtcdUnavailable ? ` (is etcd up? store.etcd.endpoints in ${configPath})` : ''
    return { code: 2, stdout: '', stderr: `${NAME}: ${oneLine(err)}${hint}\n` }
  } finally {
    await ctx?.client.close()
  }
}

/** An error as one line: a ConfigError's issues joined after its head, never a stack. */
function oneLine (err: unknown): string {
  let text: string
  if (err instanceof ConfigError) {
    const [head, ...issues] = err.message.split('\n')
    text = issues.length === 0 ? head : `${head}: ${issues.join('; ')}`
  } else if (err instanceof CliError || err instanceof EtcdUnavailable || err instanceof EtcdRefused) {
    text = err.message
  } else {
    text = `unexpected error: ${err instanceof Error ? err.message : String(err)}`
  }
  return text.replace(/\s*\n\s*/g, '; ')
}
