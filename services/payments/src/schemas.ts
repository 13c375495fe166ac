/** TypeBox schemas of the payments API. */
import { Type } from 'typebox'
import { CURRENCIES } from './payments-store.js'

export const CreatePaymentBody = Type.Object({
  amount: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'integer cents' }),
  currency: Type.Enum([...CURRENCIES]),
}, { additionalProperties: false })

export const Payment = Type.Object({
  id: Type.String(),
  amount: Type.Integer(),
  currency: Type.String(),
  userId: Type.String(),
  createdAt: Type.String(),
})

export const PaymentList = Type.Object({ payments: Type.Array(Payment) })
