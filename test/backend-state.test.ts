// The one-word backend state (lib/pool/state.ts, issue 13): each flag alone gives its word, and
// when several hold the documented precedence decides: disabled > draining > unhealthy >
// ejected > open > healthy.
import t from 'tap'
import { BACKEND_STATES, backendState, type StateFlags } from '../lib/pool/state.js'
import type { CircuitState } from '../lib/resilience/breaker.js'

const fine: StateFlags = { enabled: true, draining: false, healthy: true, ejected: false, breaker: undefined }
const circuit = (state: CircuitState): StateFlags['breaker'] => ({ state })

/** The flags that make each word hold, alone. */
const cause: Record<Exclude<typeof BACKEND_STATES[number], 'healthy'>, Partial<StateFlags>> = {
  disabled: { enabled: false },
  draining: { draining: true },
  unhealthy: { healthy: false },
  ejected: { ejected: true },
  open: { breaker: circuit('open') }
}

t.test('each cause alone gives its word; nothing gives healthy', async (t) => {
  t.equal(backendState(fine), 'healthy')
  t.equal(backendState({ ...fine, breaker: circuit('closed') }), 'healthy', 'a closed circuit is healthy')
  for (const [word, flags] of Object.entries(cause)) t.equal(backendState({ ...fine, ...flags }), word)
  t.equal(backendState({ ...fine, breaker: circuit('half-open') }), 'open', 'half-open reads as open')
})

t.test('when several hold, the earlier word in BACKEND_STATES wins, for every pair and for all at once', async (t) => {
  t.same(BACKEND_STATES, ['disabled', 'draining', 'unhealthy', 'ejected', 'open', 'healthy'])
  const words = BACKEND_STATES.filter((w) => w !== 'healthy') as Array<keyof typeof cause>
  for (let i = 0; i < words.length; i++) {
    for (let j = i + 1; j < words.length; j++) {
      t.equal(backendState({ ...fine, ...cause[words[i]!], ...cause[words[j]!] }), words[i], `${words[i]} over ${words[j]}`)
    }
  }
  t.equal(backendState({ ...fine, ...Object.assign({}, ...Object.values(cause)) }), 'disabled')
})
