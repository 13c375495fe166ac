/** The part of autocannon 8's programmatic API the bench and loadtest use (it ships no types). */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  namespace autocannon {
    interface Histogram {
      average: number,
      mean: number,
      stddev: number,
      min: number,
      max: number,
      p50: number,
      p90: number,
      p99: number,
      p99_9: number,
    }
    interface Request {
      method?: string
      path?: string
      headers?: Record<string, string>
      body?: string | Buffer
      setupRequest?: (request: Request, context: Record<string, unknown>) => Request | null | undefined
      onResponse?: (
        status: number, body: string, context: Record<string, unknown>, headers: Record<string, string>
      ) => void
    }
    interface Client extends EventEmitter {
      setHeaders: (headers: Record<string, string>) => void
      setRequests: (requests: Request[]) => void
    }
    interface Options {
      url: string
      connections?: number
      duration?: number
      amount?: number
      timeout?: number
      pipelining?: number
      method?: string
      headers?: Record<string, string>
      body?: string | Buffer
      requests?: Request[]
      setupClient?: (client: Client) => void
      initialContext?: Record<string, unknown>
      title?: string
      overallRate?: number
      connectionRate?: number
    }
    interface Result {
      title?: string
      url: string
      requests: Histogram
      latency: Histogram
      throughput: Histogram
      duration: number
      errors: number
      timeouts: number
      non2xx: number
      statusCodeStats?: Record<string, { count: number }>
      '2xx': number
    }
    interface Instance extends EventEmitter, PromiseLike<Result> {
      stop: () => void
    }
  }
  function autocannon (opts: autocannon.Options): autocannon.Instance
  export default autocannon
}
