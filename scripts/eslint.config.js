import neostandard from 'neostandard'

// Who may import what (README "Layout"). Product code (gateway/src, auth-service/src) reaches
// only the kernel, its own files and the other side's contract; the kernel reaches npm only;
// nothing under a src/ reaches scripts/ (tooling sits on top of the graph).
const restrict = (files, patterns) => ({ files, rules: { 'no-restricted-imports': ['error', { patterns }] } })
const noScripts = { regex: '(^|/)scripts/', message: 'product code never imports scripts/ (tooling)' }
const onlyContractOf = (side) => ({
  regex: `(^|/)${side}/(?!src/contract\\.js$)`,
  message: `of ${side}, import only ${side}/src/contract.js (a leaf)`,
})
const onlyKernel = { regex: '(^|/)services/(?!kernel/)', message: 'of services/, import only services/kernel' }

export default [
  ...neostandard({ ts: true, ignores: ['node_modules', '**/dist', 'keys', '.tap'] }),
  { rules: { 'max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }] } },
  restrict(['gateway/src/**'], [noScripts, onlyKernel, onlyContractOf('auth-service')]),
  restrict(['auth-service/src/**'], [noScripts, onlyKernel, onlyContractOf('gateway')]),
  restrict(['services/kernel/*.ts'], [{ regex: '^\\.\\./', message: 'the kernel imports npm packages and itself' }]),
  restrict(['services/*/src/**', 'services/common/**'], [
    noScripts, onlyContractOf('gateway'), onlyContractOf('auth-service'),
  ]),
  restrict(['services/*/test/**', 'services/common/test/**'], [
    onlyContractOf('gateway'), onlyContractOf('auth-service'),
  ]),
  restrict(['**/src/contract.ts'], [{ regex: '^\\.', message: 'a contract is a leaf: node:* and npm only' }]),
]
