/** Starts the payments service: PAYMENTS_HOST (127.0.0.1), PAYMENTS_PORT (4103), LOG_LEVEL. */
import { runService } from '../../common/server.js'
import { buildPaymentsService } from './app.js'

await runService({ name: 'payments', envPrefix: 'PAYMENTS', defaultPort: 4103, build: buildPaymentsService })
