import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { api } from '../session.js'
import { describeError, ErrorMessage } from '../components/error-message.js'
import { openFeed, type FeedStatus } from '../live-feed.js'

interface Order {
  id: string
  item: string
  quantity: number
  userId?: string
  createdAt: string
}

interface OrderChange { type: 'order.created' | 'order.deleted', order: Order }

function applyChange (orders: Order[] | null, { type, order }: OrderChange): Order[] | null {
  if (orders === null) return orders
  const others = orders.filter((o) => o.id !== order.id)
  return type === 'order.created' ? [...others, order] : others
}

function describeFeed (status: FeedStatus): string {
  if (status.state === 'open') return 'Live updates: on'
  if (status.state === 'connecting') return 'Live updates: connecting…'
  const why = status.reason === '' ? `code ${status.code}` : status.reason
  return `Live updates: off (${why})${status.retrying ? ', reconnecting…' : ''}`
}

export function OrdersPage () {
  const [orders, setOrders] = useState<Order[] | null>(null)
  const [item, setItem] = useState('')
  const [quantity, setQuantity] = useState('1')
  const [error, setError] = useState<string | null>(null)

  const load = useCallback(async () => {
    try {
      const { orders } = await api.request<{ orders: Order[] }>('GET', '/api/orders')
      setOrders(orders)
    } catch (err) {
      setError(describeError(err))
    }
  }, [])

  const [feed, setFeed] = useState<FeedStatus>({ state: 'connecting' })
  const [feedSince, setFeedSince] = useState(() => Date.now())

  useEffect(() => { load() }, [load])
  useEffect(() => openFeed<OrderChange>({
    path: '/api/orders/live',
    api,
    onMessage: (change) => setOrders((orders) => applyChange(orders, change)),
    onOpen: () => { load() },
    onStatus: (status) => { setFeed(status); setFeedSince(Date.now()) },
  }), [load])

  async function onCreate (event: FormEvent) {
    event.preventDefault()
    setError(null)
    try {
      await api.request('POST', '/api/orders', { body: { item: item.trim(), quantity: Number(quantity) } })
      setItem('')
      setQuantity('1')
      await load()
    } catch (err) {
      setError(describeError(err))
    }
  }

  async function onDelete (id: string) {
    setError(null)
    try {
      await api.request('DELETE', `/api/orders/${encodeURIComponent(id)}`)
      await load()
    } catch (err) {
      setError(describeError(err))
    }
  }

  return (
    <section className='card' data-testid='orders-page'>
      <h1>Orders</h1>
      <p className='feed' data-testid='orders-live' data-state={feed.state} data-since={feedSince} role='status'>
        {describeFeed(feed)}
      </p>
      <form className='inline' onSubmit={onCreate} aria-label='New order'>
        <label htmlFor='order-item'>Item</label>
        <input
          id='order-item'
          required
          maxLength={100}
          value={item}
          onChange={(e) => setItem(e.target.value)}
          data-testid='order-item'
        />
        <label htmlFor='order-quantity'>Quantity</label>
        <input
          id='order-quantity'
          type='number'
          required
          min={1}
          max={1000}
          value={quantity}
          onChange={(e) => setQuantity(e.target.value)}
          data-testid='order-quantity'
        />
        <button type='submit' data-testid='order-submit'>Add order</button>
      </form>
      <ErrorMessage error={error} testId='orders-error' />
      {orders === null
        ? <p data-testid='orders-loading'>Loading…</p>
        : orders.length === 0
          ? <p data-testid='orders-empty'>No orders yet.</p>
          : (
            <table data-testid='orders-list'>
              <thead>
                <tr>
                  <th scope='col'>Item</th>
                  <th scope='col'>Quantity</th>
                  <th scope='col'>Created</th>
                  <th scope='col'><span className='sr-only'>Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {orders.map((o) => (
                  <tr key={o.id} data-testid='order-row' data-order-id={o.id}>
                    <td>{o.item}</td>
                    <td>{o.quantity}</td>
                    <td>{new Date(o.createdAt).toLocaleString()}</td>
                    <td>
                      <button
                        type='button'
                        className='danger'
                        onClick={() => onDelete(o.id)}
                        aria-label={`Delete order ${o.item}`}
                        data-testid='order-delete'
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            )}
    </section>
  )
}
