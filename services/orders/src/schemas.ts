/** TypeBox schemas of the orders API (validation and types from one source). */
import { Type } from 'typebox'

export const CreateOrderBody = Type.Object({
  item: Type.String({ minLength: 1, maxLength: 100 }),
  quantity: Type.Integer({ minimum: 1, maximum: 1000 }),
}, { additionalProperties: false })

export const Order = Type.Object({
  id: Type.String(),
  item: Type.String(),
  quantity: Type.Integer(),
  userId: Type.String(),
  createdAt: Type.String(),
})

export const OrderList = Type.Object({ orders: Type.Array(Order) })

export const OrderParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) })
