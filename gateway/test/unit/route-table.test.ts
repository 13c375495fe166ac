import t from 'tap'
import { buildRouteTable, rawPrefixLength, upstreamPath } from '../../src/route-table.js'
import { compileRules, type Rule } from '../../src/rules.js'
import type { RouteSpec } from '../../src/gateway-file/index.js'

const spec = (over: Partial<RouteSpec> & { prefix: string }): RouteSpec => ({
  id: 'r',
  exact: false,
  methods: ['GET', 'POST'],
  upstream: 'http://127.0.0.1:1',
  rewritePrefix: over.prefix,
  auth: 'none',
  roles: {},
  rateLimit: null,
  csrf: 'none',
  forwardCredentials: false,
  ...over,
} as RouteSpec)

const rules = compileRules([
  spec({ id: 'shop', prefix: '/shop', methods: ['GET'] }),
  spec({ id: 'cart', prefix: '/shop/cart', methods: ['POST'], rewritePrefix: '/cart' }),
  spec({ id: 'root', prefix: '/', methods: ['GET'], rewritePrefix: '/' }),
  spec({ id: 'only', prefix: '/only', exact: true }),
], { upstreamTimeoutMs: 1000 })
const table = buildRouteTable(rules, ['/shop/hidden'])
const idOf = (method: string, url: string) => table.match(method, url).rule?.id ?? '404'

t.test('longest prefix taking the method, on segment boundaries', async (t) => {
  t.equal(idOf('GET', '/shop/cart'), 'shop', 'GET: cart does not take it')
  t.equal(idOf('POST', '/shop/cart/1'), 'cart')
  t.equal(idOf('POST', '/shop/x'), '404', 'POST under /shop: no route takes it (root is GET only)')
  t.equal(idOf('GET', '/shopping'), 'root', 'not under /shop')
  t.equal(idOf('GET', '/shop?x=/cart'), 'shop', 'the query string is not the path')
  t.equal(idOf('GET', '/only'), 'only')
  t.equal(idOf('GET', '/only/more'), 'root', 'exact: no sub-paths')
  t.equal(idOf('HEAD', '/shop/x'), 'shop', 'GET takes HEAD')
  t.equal(idOf('GET', '/%73hop/x'), 'shop', 'percent-decoded as Fastify decodes')
})

t.test('a notFoundPrefix is a 404 the shorter route never takes', async (t) => {
  t.same(table.match('GET', '/shop/hidden/x'), { rule: undefined, notFound: true })
  t.equal(idOf('GET', '/shop/hiddenx'), 'shop')
})

t.test('two entries on one path and method throw (validation refuses them first)', async (t) => {
  t.throws(() => buildRouteTable([rules[0]!, { ...rules[0]!, id: 'again' } as Rule], []))
})

t.test('the upstream path: prefix rewritten, the rest as the client encoded it', async (t) => {
  const [shop, cart, root] = rules as [Rule, Rule, Rule]
  t.equal(upstreamPath(cart, '/shop/cart/a%2Fb'), '/cart/a%2Fb')
  t.equal(upstreamPath(cart, '/shop/%63art/1'), '/cart/1', 'an encoded prefix is still the prefix')
  t.equal(upstreamPath(shop, '/shop'), '/shop')
  t.equal(upstreamPath(root, '/'), '/')
  t.equal(upstreamPath(root, '/x/y'), '/x/y')
  t.equal(rawPrefixLength('/shop/%63art', '/shop/cart'), 12)
  t.equal(rawPrefixLength('/shop/c', '/shop/cart'), -1)
})
