import { ApiError } from '../api-client.js'

export function describeError (err: unknown): string {
  if (err instanceof ApiError) return `${err.message} (${err.code})`
  if (err instanceof Error) return `Network error: ${err.message}`
  return 'Something went wrong'
}

export function ErrorMessage ({ error, testId }: { error: string | null, testId: string }) {
  if (!error) return null
  return <p className='error' role='alert' data-testid={testId}>{error}</p>
}
