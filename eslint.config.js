// ESLint 9 flat config: neostandard (standard style, no semicolons, space before function
// parens) with TypeScript support, as Fastify's own repositories use it. `npm run lint` runs it,
// and `npm test` runs it after the typecheck and before tap. Without type-aware rules, as
// neostandard ships: tsc (npm run typecheck) checks the types.
import neostandard, { resolveIgnoresFromGitignore } from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    noJsx: true,
    // Build output (dist/, and .test-build/: the tests as tap runs them), dependencies and tap's
    // coverage/cache (also in .gitignore, listed here so the lint does not depend on that file).
    ignores: [...resolveIgnoresFromGitignore(), 'dist/', '.test-build/', 'node_modules/', 'coverage/', '.tap/']
  }),
  {
    name: 'ultrabalancer/options',
    // A disable comment for a rule that did not fire (or is not enabled) is an error, so no
    // stale or meaningless `eslint-disable` comment survives.
    linterOptions: { reportUnusedDisableDirectives: 'error' }
  },
  {
    name: 'ultrabalancer/typescript',
    files: ['**/*.ts'],
    rules: {
      // The code marks `any` as a deliberate exception with a disable comment: make that count.
      '@typescript-eslint/no-explicit-any': 'error',
      // TypeBox convention: a schema value and its Static type share a name
      // (`const X = Type.Object(...)` / `type X = Static<typeof X>`). tsc reports real
      // redeclarations itself (ts2451, ts2300), and typescript-eslint advises against this rule
      // in TypeScript code.
      '@typescript-eslint/no-redeclare': 'off',
      // Deliberately unawaited promises are marked with a `void` statement
      // (`void server.close()`), the convention of typescript-eslint's no-floating-promises.
      // `void` inside expressions (`x = void 0`, `return void f()`) is still an error.
      'no-void': ['error', { allowAsStatement: true }]
    }
  },
  {
    name: 'ultrabalancer/tests',
    files: ['test/**/*.ts'],
    rules: {
      // Tests of the config loader write YAML that uses the gateway's own `${VAR}` and
      // `${VAR:-default}` substitution syntax (docs/configuration.md) in plain strings on
      // purpose. Elsewhere the rule stays on: there a '${x}' string is most likely a mistake.
      'no-template-curly-in-string': 'off'
    }
  }
]
