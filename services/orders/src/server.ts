/** Starts the orders service: ORDERS_HOST (127.0.0.1), ORDERS_PORT (4101), LOG_LEVEL. */
import { runService } from '../../common/server.js'
import { buildOrdersService } from './app.js'

await runService({ name: 'orders', envPrefix: 'ORDERS', defaultPort: 4101, build: buildOrdersService })
