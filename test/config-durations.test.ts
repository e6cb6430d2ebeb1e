// Duration and size parsing: the accepted forms, the rejected ones, and how the loader reports a
// bad value at its field path.
import t from 'tap'
import { parseDuration, parseSize } from '../lib/config/duration.js'
import { ConfigError, loadConfigText } from '../lib/config/load.js'
import { DEFAULTS } from '../lib/config/defaults.js'

const POOLS = 'pools: { web: { backends: [ { url: "http://127.0.0.1:9001" } ] } }\n'

function issuesOf (text: string): ConfigError['issues'] {
  try { loadConfigText(text, { env: {} }) } catch (err) { if (err instanceof ConfigError) return err.issues }
  throw new Error('expected a ConfigError')
}

t.test('parseDuration: units and plain numbers', async (t) => {
  t.equal(parseDuration('250ms'), 250)
  t.equal(parseDuration('5s'), 5000)
  t.equal(parseDuration('1.5s'), 1500)
  t.equal(parseDuration('.5s'), 500)
  t.equal(parseDuration('1m'), 60_000)
  t.equal(parseDuration('1h'), 3_600_000)
  t.equal(parseDuration('2H'), 7_200_000, 'units are case-insensitive')
  t.equal(parseDuration(' 10 s '), 10_000, 'spaces around and before the unit are allowed')
  t.equal(parseDuration(1200), 1200, 'a number is milliseconds')
  t.equal(parseDuration('1200'), 1200, 'a numeric string is milliseconds (env substitutions give strings)')
  t.equal(parseDuration(0), 0)
  t.equal(parseDuration(2.6), 3, 'fractions of a millisecond are rounded')
})

t.test('parseDuration: rejections say why', async (t) => {
  t.throws(() => parseDuration(-1), /negative/)
  t.throws(() => parseDuration('-5s'), /negative/)
  t.throws(() => parseDuration('5 sec'), /unknown duration unit "sec"/)
  t.throws(() => parseDuration('5d'), /unknown duration unit "d"/)
  t.throws(() => parseDuration('5constructor'), /unknown duration unit/, 'unit lookup ignores inherited keys')
  t.throws(() => parseDuration('soon'), /"soon" is not a duration; use .*250ms/)
  t.throws(() => parseDuration(''), /is not a duration/)
  t.throws(() => parseDuration('1m30s'), /is not a duration/, 'compound forms are not supported')
  t.throws(() => parseDuration(Number.POSITIVE_INFINITY), /not a finite number/)
  t.throws(() => parseDuration(Number.NaN), /not a finite number/)
  t.throws(() => parseDuration('600h'), /too long: .*2147483647 ms/)
  t.throws(() => parseDuration(true as unknown as number), /expected a duration/)
})

t.test('parseSize: units and plain numbers', async (t) => {
  t.equal(parseSize('512b'), 512)
  t.equal(parseSize('16kb'), 16 * 1024)
  t.equal(parseSize('16KB'), 16 * 1024)
  t.equal(parseSize('16k'), 16 * 1024)
  t.equal(parseSize('16KiB'), 16 * 1024)
  t.equal(parseSize('1mb'), 1024 * 1024)
  t.equal(parseSize('1gb'), 1024 ** 3)
  t.equal(parseSize('1.5kb'), 1536)
  t.equal(parseSize('0.3kb'), 307, 'a fractional byte count is rounded down')
  t.equal(parseSize(4096), 4096)
  t.equal(parseSize('4096'), 4096)
  t.equal(parseSize(0), 0)
})

t.test('parseSize: rejections say why', async (t) => {
  t.throws(() => parseSize(-1), /negative/)
  t.throws(() => parseSize(1.5), /not a whole number of bytes/)
  t.throws(() => parseSize('10tb'), /unknown size unit "tb"/)
  t.throws(() => parseSize('big'), /"big" is not a size; use .*16kb/)
  t.throws(() => parseSize(1e300), /too large/)
})

t.test('the loader converts every duration and size field', async (t) => {
  const c = loadConfigText(`listen: { headersTimeout: 2s, requestTimeout: 1m, keepAliveTimeout: 500, maxHeaderSize: 32kb }
${POOLS.replace('} ] } }', '} ], timeouts: { connect: 250ms, request: 1.5s, idle: 1m } } }')}routes: [ { pool: web, maxBodySize: 10mb } ]
shutdown: { timeout: 1h }
`, { env: {} })
  t.same(c.listen, [{ ...DEFAULTS.listen, host: '127.0.0.1', port: 8080, trustProxy: false, headersTimeout: 2000, requestTimeout: 60_000, keepAliveTimeout: 500, maxHeaderSize: 32768, http2: false }])
  t.same(c.pools.web.timeouts, { connect: 250, request: 1500, idle: 60_000 })
  t.equal(c.routes[0].maxBodySize, 10 * 1024 * 1024)
  t.equal(c.shutdown.timeout, 3_600_000)
})

t.test('a bad duration or size is an issue at its field path', async (t) => {
  const issues = issuesOf(`listen: { keepAliveTimeout: 5 sec, maxHeaderSize: lots }
${POOLS.replace('} ] } }', '} ], timeouts: { connect: -2s } } }')}routes: [ { pool: web, maxBodySize: 1.5 } ]
shutdown: { timeout: soon }
`)
  t.same(issues.map((i) => i.path), [
    'listen.keepAliveTimeout', 'listen.maxHeaderSize', 'pools.web.timeouts.connect', 'routes[0].maxBodySize', 'shutdown.timeout'
  ])
  t.match(issues[0], { message: /unknown duration unit "sec"/, line: 1 })
  t.match(issues[1].message, /"lots" is not a size/)
  t.match(issues[2], { message: /negative/, line: 2 })
  t.match(issues[3].message, /not a whole number of bytes/)
  t.match(issues[4], { message: /"soon" is not a duration/, line: 4 })
})

t.test('zero is refused where it would silently disable a timeout, allowed where documented', async (t) => {
  const issues = issuesOf(`listen: { headersTimeout: 0, keepAliveTimeout: 0ms, maxHeaderSize: 0 }
${POOLS.replace('} ] } }', '} ], timeouts: { connect: 0, request: 0s, idle: 0 } } }')}`)
  t.same(issues.map((i) => [i.path, i.message]), [
    ['listen.headersTimeout', 'must be greater than 0'],
    ['listen.keepAliveTimeout', 'must be greater than 0'],
    ['listen.maxHeaderSize', 'must be greater than 0'],
    ['pools.web.timeouts.connect', 'must be greater than 0'],
    ['pools.web.timeouts.request', 'must be greater than 0'],
    ['pools.web.timeouts.idle', 'must be greater than 0']
  ])
  const c = loadConfigText(`listen: { requestTimeout: 0 }\nshutdown: { timeout: 0s }\n${POOLS}routes: [ { pool: web, maxBodySize: 0 } ]\n`, { env: {} })
  t.equal(c.listen[0]!.requestTimeout, 0, 'requestTimeout 0 disables it, as in Node')
  t.equal(c.shutdown.timeout, 0)
  t.equal(c.routes[0].maxBodySize, 0, 'maxBodySize 0 means no limit')
})

t.test('a duration of the wrong type is a schema issue naming the accepted forms', async (t) => {
  const issues = issuesOf(`listen: { headersTimeout: [1] }\n${POOLS}`)
  t.same(issues, [{ path: 'listen.headersTimeout', line: 1, message: 'expected a duration (a number of ms, or 250ms, 5s, 1m, 1h) (got a list)' }])
})
