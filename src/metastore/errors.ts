import thrift from 'thrift';
import hms from './gen/hive_metastore_types.js';

/** Every failure of a MetastoreClient call; the message names the endpoint and the Thrift call. */
export class MetastoreError extends Error {
  override readonly name = 'MetastoreError';

  constructor(
    readonly endpoint: string,
    readonly call: string,
    detail: string,
    /** True when the same call may succeed on a fresh connection (network trouble, timeouts). */
    readonly retriable: boolean,
    options?: ErrorOptions,
  ) {
    super(`${call} on ${endpoint} failed: ${detail}`, options);
  }
}

// Exceptions declared in the `throws` clauses of our IDL: HMS answered, the request is at fault.
const declaredExceptions = [
  hms.MetaException,
  hms.NoSuchObjectException,
  hms.InvalidObjectException,
  hms.AlreadyExistsException,
  hms.InvalidOperationException,
  hms.UnknownDBException,
];

const applicationExceptionNames = new Map<number, string>(
  Object.entries(thrift.Thrift.TApplicationExceptionType).map(([name, code]) => [Number(code), name]),
);

function isDeclaredException(error: unknown): error is { name: string; message: string } {
  return declaredExceptions.some((type) => error instanceof type);
}

function systemErrorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function toMetastoreError(error: unknown, endpoint: string, call: string): MetastoreError {
  if (error instanceof MetastoreError) return error;
  const cause = { cause: error };
  if (error instanceof thrift.Thrift.TApplicationException) {
    // node thrift keeps the code in `type`; @types/thrift wrongly calls it `code`.
    const code = (error as unknown as { type: number }).type;
    const type = applicationExceptionNames.get(code) ?? `type ${code}`;
    return new MetastoreError(endpoint, call, `TApplicationException (${type}): ${error.message}`, false, cause);
  }
  if (isDeclaredException(error)) {
    return new MetastoreError(endpoint, call, `${error.name}: ${error.message}`, false, cause);
  }
  const code = systemErrorCode(error);
  if (code === 'ECONNREFUSED') {
    return new MetastoreError(endpoint, call, 'connection refused', true, cause);
  }
  const message = error instanceof Error ? error.message : String(error);
  // Socket-level errors (ECONNRESET, EPIPE, EHOSTUNREACH, ...) say nothing about the request itself.
  return new MetastoreError(endpoint, call, message, code !== undefined, cause);
}

/** True when HMS answered the call with a declared exception of this type (e.g. NoSuchObjectException). */
export function isAnsweredWith(error: unknown, type: abstract new (...args: never[]) => unknown): boolean {
  return error instanceof MetastoreError && error.cause instanceof type;
}
