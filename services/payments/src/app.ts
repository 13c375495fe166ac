/**
 * Payments demo service: GET|POST /payments (the gateway maps /api/payments here).
 * Each caller sees only their own payments.
 */
import { createServiceApp, type ServiceApp } from '../../common/app.js'
import type { ServiceConfig } from '../../common/config.js'
import { createPaymentsStore } from './payments-store.js'
import { CreatePaymentBody, Payment, PaymentList } from './schemas.js'

export function buildPaymentsService (config: Partial<ServiceConfig> = {}): ServiceApp {
  const { logLevel, identityAssertion } = config
  const app = createServiceApp({ name: 'payments', logLevel, identityAssertion })
  const store = createPaymentsStore()

  app.get('/payments', { schema: { response: { 200: PaymentList } } }, async (request) => {
    return { payments: store.list(request.identity.subject) }
  })

  app.post('/payments', { schema: { body: CreatePaymentBody, response: { 201: Payment } } }, async (request, reply) => {
    const payment = store.add(request.identity.subject, request.body)
    request.log.info({ paymentId: payment.id }, 'payment created')
    return reply.code(201).send(payment)
  })

  return app
}
