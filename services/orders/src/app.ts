/**
 * Orders demo service: GET|POST /orders, GET|DELETE /orders/:id (the gateway maps
 * /api/orders here). Each caller sees only their own orders; deleting needs role `admin`,
 * checked here again from `x-user-roles`. GET /orders/live is a WebSocket (@fastify/websocket)
 * that sends the caller's order changes, `{ type: 'order.created' | 'order.deleted', order }`;
 * its identity comes from the upgrade's headers like any request's.
 */
import { upgradeSpanEnd } from '../../kernel/tracing.js'
import { createServiceApp, type ServiceApp } from '../../common/app.js'
import type { ServiceConfig } from '../../common/config.js'
import { NotFoundError } from '../../common/errors.js'
import { requireRole } from '../../common/identity.js'
import { createOrdersStore } from './orders-store.js'
import { CreateOrderBody, Order, OrderList, OrderParams } from './schemas.js'

export function buildOrdersService (config: Partial<ServiceConfig> = {}): ServiceApp {
  const { logLevel, identityAssertion } = config
  const app = createServiceApp({ name: 'orders', logLevel, identityAssertion, websocket: { maxPayload: 4096 } })
  const store = createOrdersStore()

  app.register(async (live) => {
    live.get('/orders/live', { websocket: true }, (socket, request) => {
      const unsubscribe = store.subscribe(request.identity.subject, (change) => socket.send(JSON.stringify(change)))
      upgradeSpanEnd()() // the upgrade's request span: answered (101) by now
      request.log.info('live feed opened')
      socket.once('close', (code) => { unsubscribe(); request.log.info({ code }, 'live feed closed') })
      // The feed only speaks: anything the client sends is ignored.
    })
  })

  app.get('/orders', { schema: { response: { 200: OrderList } } }, async (request) => {
    return { orders: store.list(request.identity.subject) }
  })

  app.post('/orders', { schema: { body: CreateOrderBody, response: { 201: Order } } }, async (request, reply) => {
    const order = store.add(request.identity.subject, request.body)
    request.log.info({ orderId: order.id }, 'order created')
    return reply.code(201).send(order)
  })

  app.get('/orders/:id', { schema: { params: OrderParams, response: { 200: Order } } }, async (request) => {
    const order = store.get(request.identity.subject, request.params.id)
    // Another user's order is "not found", not "forbidden": its existence is not disclosed.
    if (!order) throw new NotFoundError('order')
    return order
  })

  app.delete('/orders/:id', { schema: { params: OrderParams }, preHandler: requireRole('admin') }, async (
    request,
    reply
  ) => {
    if (!store.remove(request.params.id)) throw new NotFoundError('order')
    request.log.info({ orderId: request.params.id }, 'order deleted')
    return reply.code(204).send()
  })

  return app
}
