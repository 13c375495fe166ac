/**
 * A histogram by route whose observe() is an array increment (ops/metrics.ts, request durations).
 *
 * - prom-client's Histogram validates and hashes its labels on every observation; this one is
 *   registered as a metric of its own that renders the same series (`_bucket{le}`, `_sum`,
 *   `_count`) at scrape time
 */
import type { Registry } from 'prom-client'

interface RouteHistogramOptions { name: string, help: string, buckets: number[] }
interface RouteSeries { counts: number[], sum: number, count: number }

export interface RouteHistogram { observe: (route: string, seconds: number) => void }

export function createRouteHistogram (registry: Registry, opts: RouteHistogramOptions): RouteHistogram {
  const series = new Map<string, RouteSeries>()
  const metric = {
    name: opts.name,
    help: opts.help,
    type: 'histogram',
    aggregator: 'sum',
    reset: () => { series.clear() }, // what registry.resetMetrics() calls on every metric
    get: async () => ({
      name: opts.name,
      help: opts.help,
      type: 'histogram',
      aggregator: 'sum',
      values: [...series].flatMap(([route, s]) => {
        let cumulative = 0
        return [
          ...opts.buckets.map((le, i) => {
            cumulative += s.counts[i]!
            return { metricName: `${opts.name}_bucket`, labels: { route, le }, value: cumulative }
          }),
          { metricName: `${opts.name}_bucket`, labels: { route, le: '+Inf' }, value: s.count },
          { metricName: `${opts.name}_sum`, labels: { route }, value: s.sum },
          { metricName: `${opts.name}_count`, labels: { route }, value: s.count },
        ]
      }),
    }),
  }
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0])
  return {
    observe (route, seconds) {
      let s = series.get(route)
      if (s === undefined) series.set(route, s = { counts: opts.buckets.map(() => 0), sum: 0, count: 0 })
      for (let i = 0; i < opts.buckets.length; i++) {
        if (seconds <= opts.buckets[i]!) { s.counts[i]!++; break }
      }
      s.sum += seconds
      s.count++
    },
  }
}
