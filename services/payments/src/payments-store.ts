/** In-memory payments, per user id (a demo: gone on restart). */
import { randomUUID } from 'node:crypto'

export const CURRENCIES = ['EUR', 'USD', 'GBP'] as const
export type Currency = typeof CURRENCIES[number]

export interface Payment {
  id: string
  /** Integer cents. */
  amount: number
  currency: Currency
  userId: string
  createdAt: string
}

export interface PaymentsStore {
  list: (userId: string) => Payment[]
  add: (userId: string, input: { amount: number, currency: Currency }) => Payment
}

export function createPaymentsStore (): PaymentsStore {
  const byUser = new Map<string, Payment[]>()
  return {
    list: (userId) => [...(byUser.get(userId) ?? [])],
    add (userId, { amount, currency }) {
      const payment: Payment = { id: randomUUID(), amount, currency, userId, createdAt: new Date().toISOString() }
      let payments = byUser.get(userId)
      if (!payments) byUser.set(userId, payments = [])
      payments.push(payment)
      return payment
    },
  }
}
