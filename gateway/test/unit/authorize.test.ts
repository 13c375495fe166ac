import t from 'tap'
import { authorize, requiredRoles } from '../../src/pipeline/authorize.js'
import type { Rule } from '../../src/rules.js'

const user = { subject: 'u1', roles: ['user'], session: 's1' }
const admin = { subject: 'u2', roles: ['user', 'admin'], session: 's2' }
const orders = { roles: { DELETE: ['admin'] } }

t.test('authorize (identity, rule, method)', async (t) => {
  const cases: Array<{ d: string, id: typeof user, rule: Pick<Rule, 'roles'>, method: string, allowed: boolean }> = [
    { d: 'no roles listed: any identity may GET', id: user, rule: orders, method: 'GET', allowed: true },
    { d: 'DELETE without admin is refused', id: user, rule: orders, method: 'DELETE', allowed: false },
    { d: 'DELETE with admin passes', id: admin, rule: orders, method: 'DELETE', allowed: true },
    { d: 'method names are case-insensitive', id: user, rule: orders, method: 'delete', allowed: false },
    {
      d: "'*' covers methods without their own entry",
      id: user,
      rule: { roles: { '*': ['admin'], GET: [] } },
      method: 'POST',
      allowed: false,
    },
    {
      d: 'an explicit entry wins over *',
      id: user,
      rule: { roles: { '*': ['admin'], GET: [] } },
      method: 'GET',
      allowed: true,
    },
    { d: 'HEAD follows GET', id: user, rule: { roles: { GET: ['admin'] } }, method: 'HEAD', allowed: false },
    {
      d: 'one of several roles is enough',
      id: user,
      rule: { roles: { POST: ['admin', 'user'] } },
      method: 'POST',
      allowed: true,
    },
    {
      d: 'no roles at all on the identity',
      id: { ...user, roles: [] },
      rule: { roles: { POST: ['user'] } },
      method: 'POST',
      allowed: false,
    },
  ]
  for (const c of cases) {
    t.equal(authorize(c.id, c.rule, c.method).allowed, c.allowed, c.d)
  }
  t.same(authorize(user, orders, 'DELETE'), { allowed: false, required: ['admin'] }, 'a refusal names the roles needed')
  t.same(requiredRoles({ roles: {} }, 'GET'), [])
})
