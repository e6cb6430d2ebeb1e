/**
 * Thrown by an algorithm's create() when an option is well-formed but unusable (a Maglev table
 * size that is not prime, an inner algorithm that cannot serve). The config loader reports it at
 * that option's path, e.g. `pools.web.algorithm.tableSize`.
 */
export class OptionError extends Error {
  constructor (readonly option: string, message: string) {
    super(message)
    this.name = 'OptionError'
  }
}
