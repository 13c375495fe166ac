/**
 * In-memory orders, per user id (a demo: gone on restart). An index by order id lets an
 * admin delete any user's order.
 */
import { randomUUID } from 'node:crypto'

export interface Order {
  id: string
  item: string
  quantity: number
  userId: string
  createdAt: string
}

export interface OrdersStore {
  list: (userId: string) => Order[]
  add: (userId: string, input: { item: string, quantity: number }) => Order
  /** The order only if it belongs to `userId`. */
  get: (userId: string, id: string) => Order | undefined
  /** Deletes whoever owns it; false when unknown. */
  remove: (id: string) => boolean
}

export function createOrdersStore (): OrdersStore {
  const byUser = new Map<string, Map<string, Order>>()
  const owner = new Map<string, string>()
  return {
    list: (userId) => [...(byUser.get(userId)?.values() ?? [])],
    add (userId, { item, quantity }) {
      const order: Order = { id: randomUUID(), item, quantity, userId, createdAt: new Date().toISOString() }
      let orders = byUser.get(userId)
      if (!orders) byUser.set(userId, orders = new Map())
      orders.set(order.id, order)
      owner.set(order.id, userId)
      return order
    },
    get: (userId, id) => byUser.get(userId)?.get(id),
    remove (id) {
      const userId = owner.get(id)
      if (userId === undefined) return false
      owner.delete(id)
      const orders = byUser.get(userId)
      orders?.delete(id)
      if (orders?.size === 0) byUser.delete(userId)
      return true
    },
  }
}
