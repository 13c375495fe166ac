/** Starts the users service: USERS_HOST (127.0.0.1), USERS_PORT (4102), LOG_LEVEL. */
import { runService } from '../../common/server.js'
import { buildUsersService } from './app.js'

await runService({ name: 'users', envPrefix: 'USERS', defaultPort: 4102, build: buildUsersService })
