/**
 * Duration and size parsing for config values. Both accept the human string forms and plain
 * numbers, and throw a plain Error whose message says what was wrong and what is accepted; the
 * loader prefixes it with the field path.
 */

/** Largest timer delay Node honours (2^31 - 1 ms, about 24.8 days); longer ones fire after 1 ms. */
export const MAX_DURATION_MS = 2_147_483_647

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Binary multiples, as the brief fixes k = 1024. "k", "kb" and "kib" all mean 1024. */
const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3
}

const NUMBER_WITH_UNIT = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/i

const DURATION_HINT = 'use a number of milliseconds or a number with a unit: 250ms, 5s, 1.5s, 1m, 1h'
const SIZE_HINT = 'use a number of bytes or a number with a unit: 512b, 16kb, 1mb, 1gb'

/**
 * Milliseconds from `250ms`, `5s`, `1.5s`, `1m`, `1h`, a non-negative number of ms, or a string
 * holding one (as an environment substitution gives). Fractions of a millisecond are rounded.
 * Rejects negatives, unknown units, and anything over MAX_DURATION_MS.
 */
export function parseDuration (v: string | number): number {
  const ms = parseWithUnits(v, DURATION_UNITS, 'ms', 'duration', DURATION_HINT)
  const rounded = Math.round(ms)
  if (rounded > MAX_DURATION_MS) {
    throw new Error(`duration ${show(v)} is too long: the most Node's timers support is ${MAX_DURATION_MS} ms (about 24.8 days)`)
  }
  return rounded
}

/**
 * Bytes from `512b`, `16kb`, `1mb`, `1gb` (case-insensitive, binary multiples), or a plain
 * non-negative whole number of bytes. A fractional unit form (`1.5mb`) is rounded down.
 */
export function parseSize (v: string | number): number {
  if (typeof v === 'number' && !Number.isInteger(v) && Number.isFinite(v) && v >= 0) {
    throw new Error(`size ${show(v)} is not a whole number of bytes; ${SIZE_HINT}`)
  }
  const bytes = Math.floor(parseWithUnits(v, SIZE_UNITS, 'b', 'size', SIZE_HINT))
  if (!Number.isSafeInteger(bytes)) throw new Error(`size ${show(v)} is too large`)
  return bytes
}

function parseWithUnits (v: string | number, units: Readonly<Record<string, number>>, bareUnit: string,
  what: string, hint: string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`${what} ${show(v)} is not a finite number; ${hint}`)
    if (v < 0) throw new Error(`${what} ${show(v)} is negative; ${hint}`)
    return v
  }
  if (typeof v !== 'string') throw new Error(`expected a ${what}, got ${typeof v}; ${hint}`)
  const s = v.trim()
  if (s.startsWith('-')) throw new Error(`${what} ${show(v)} is negative; ${hint}`)
  const m = NUMBER_WITH_UNIT.exec(s)
  if (m === null) throw new Error(`${show(v)} is not a ${what}; ${hint}`)
  const unit = (m[2] === '' ? bareUnit : m[2]).toLowerCase()
  const factor = Object.hasOwn(units, unit) ? units[unit] : undefined
  if (factor === undefined) throw new Error(`unknown ${what} unit "${m[2]}" in ${show(v)}; ${hint}`)
  return Number(m[1]) * factor
}

function show (v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v)
}
