/**
 * In-memory orders, per user id (a demo: gone on restart). An index by order id lets an
 * admin delete any user's order. Each change is told to that user's subscribers (the live feed).
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
  /** Calls `listener` on every change to `userId`'s orders; returns the unsubscribe. */
  subscribe: (userId: string, listener: OrderListener) => () => void
}

export interface OrderChange {
  type: 'order.created' | 'order.deleted'
  order: Order
}
export type OrderListener = (change: OrderChange) => void

export function createOrdersStore (): OrdersStore {
  const byUser = new Map<string, Map<string, Order>>()
  const owner = new Map<string, string>()
  const listeners = new Map<string, Set<OrderListener>>()
  const tell = (change: OrderChange): void => {
    for (const listener of listeners.get(change.order.userId) ?? []) listener(change)
  }
  return {
    list: (userId) => [...(byUser.get(userId)?.values() ?? [])],
    add (userId, { item, quantity }) {
      const order: Order = { id: randomUUID(), item, quantity, userId, createdAt: new Date().toISOString() }
      let orders = byUser.get(userId)
      if (!orders) byUser.set(userId, orders = new Map())
      orders.set(order.id, order)
      owner.set(order.id, userId)
      tell({ type: 'order.created', order })
      return order
    },
    get: (userId, id) => byUser.get(userId)?.get(id),
    remove (id) {
      const userId = owner.get(id)
      if (userId === undefined) return false
      owner.delete(id)
      const orders = byUser.get(userId)
      const order = orders?.get(id)
      orders?.delete(id)
      if (orders?.size === 0) byUser.delete(userId)
      if (order !== undefined) tell({ type: 'order.deleted', order })
      return true
    },
    subscribe (userId, listener) {
      let set = listeners.get(userId)
      if (set === undefined) listeners.set(userId, set = new Set())
      set.add(listener)
      return () => {
        set.delete(listener)
        if (set.size === 0) listeners.delete(userId)
      }
    },
  }
}
