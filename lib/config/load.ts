/**
 * The config loader: YAML text or file in, a normalised GatewayConfig (types.ts) out, or a
 * ConfigError listing every issue found. Stages, in order:
 *   1. YAML parse (syntax errors stop here, with their line)
 *   2. environment substitution in string values (after parsing, so values cannot inject YAML)
 *   3. coercion of whole-value substitutions to the schema's type
 *   4. TypeBox schema check (unknown keys, types, ranges)
 *   5. normalisation (normalise.ts, one normaliser per section in sections/): defaults, units,
 *      URLs, references, cross-field checks
 * Stages 2 to 5 all report into one list, so one run shows every problem.
 */

import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { GatewayConfig } from './types.js'
import { ConfigError, IssueList } from './issues.js'
import { parseYaml, YamlSyntaxError } from './yaml.js'
import { substituteEnv } from './env.js'
import { checkSchema, coerceSubstitutions } from './validate.js'
import { normalise } from './normalise.js'
import { fsReason } from './fields.js'

export { ConfigError, type ConfigIssue } from './issues.js'
export { parseDuration, parseSize } from './duration.js'
export { DEFAULTS } from './defaults.js'
export { LOG_LEVELS } from './sections/log.js'

export interface LoadTextOptions {
  /** Variables for ${VAR} substitution; default process.env. */
  env?: NodeJS.ProcessEnv
  /** Folder for relative file paths (tls.caFile); default process.cwd(). */
  baseDir?: string
  /** File name shown in the error message's first line. */
  source?: string
}

/** The default config path, relative to the working directory. */
export const DEFAULT_CONFIG_PATH = 'config/gateway.yaml'

/** Parses, substitutes, validates and normalises. Throws ConfigError; never returns a partial config. */
export function loadConfigText (text: string, opts: LoadTextOptions = {}): GatewayConfig {
  const parsed = parseText(text, opts.source)
  return loadParsed(parsed.value, new IssueList(parsed.lineOf), opts)
}

/**
 * The config document as written: the YAML parsed, before environment substitution (so a
 * `${SECRET}` stays a placeholder). What the config store keeps (lib/store/). Throws ConfigError
 * for a syntax error or an empty document.
 */
export function parseConfigText (text: string, source?: string): unknown {
  return parseText(text, source).value
}

/** loadConfigText for a document parseConfigText returned (or the store kept): stages 2 to 5. */
export function loadConfigValue (value: unknown, opts: LoadTextOptions = {}): GatewayConfig {
  return loadParsed(value, new IssueList(), opts)
}

function parseText (text: string, source: string | undefined): ReturnType<typeof parseYaml> {
  let parsed
  try {
    parsed = parseYaml(text)
  } catch (err) {
    if (err instanceof YamlSyntaxError) throw new ConfigError([err.issue], source)
    throw err
  }
  if (parsed.value === undefined || parsed.value === null) {
    throw new ConfigError([{ path: '', message: 'the config is empty; it needs at least a pools section' }], source)
  }
  return parsed
}

function loadParsed (raw: unknown, issues: IssueList, opts: LoadTextOptions): GatewayConfig {
  const { value, substituted } = substituteEnv(raw, opts.env ?? process.env, issues)
  coerceSubstitutions(value, substituted, issues)
  checkSchema(value, issues)
  const config = normalise({ issues, baseDir: opts.baseDir ?? process.cwd() }, value)
  if (issues.size > 0) throw new ConfigError(issues.list(), opts.source)
  return config
}

/**
 * Reads and loads a config file; relative paths inside it resolve against its folder. A file
 * that cannot be read is a ConfigError with one issue at path "".
 */
export function loadConfigFile (path: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const { text, baseDir } = readConfigFile(path)
  return loadConfigText(text, { env, baseDir, source: path })
}

/**
 * A config file's text and folder (what its relative paths resolve against). A file that
 * cannot be read is a ConfigError with one issue at path "".
 */
export function readConfigFile (path: string): { file: string, text: string, baseDir: string } {
  const file = resolve(path)
  try {
    return { file, text: readFileSync(file, 'utf8'), baseDir: dirname(file) }
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read config file ${file}: ${fsReason(err)}` }], path)
  }
}

/**
 * Which config file to load: `--config PATH` or `--config=PATH` (the last one wins; scanning
 * stops at `--`), else $GATEWAY_CONFIG when non-empty, else config/gateway.yaml. The result is
 * absolute, resolved against `cwd`. `--config` without a path is a ConfigError.
 */
export function resolveConfigPath (argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): string {
  let chosen: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') break
    if (arg.startsWith('--config=')) {
      chosen = arg.slice('--config='.length)
    } else if (arg === '--config') {
      const next = argv[i + 1]
      if (next === undefined || next.startsWith('--')) chosen = ''
      else { chosen = next; i++ }
    } else continue
    if (chosen === '') throw new ConfigError([{ path: '', message: '--config needs a file path: --config PATH or --config=PATH' }])
  }
  const fromEnv = env.GATEWAY_CONFIG
  return resolve(cwd, chosen ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CONFIG_PATH))
}
