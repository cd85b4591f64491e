/** Error codes shared by every PersonaStream package. */
export enum ErrorCode {
  InvalidArgument = 'invalid_argument',
  NotFound = 'not_found',
  Unauthenticated = 'unauthenticated',
  PermissionDenied = 'permission_denied',
  ResourceExhausted = 'resource_exhausted',
  Unavailable = 'unavailable',
  FailedPrecondition = 'failed_precondition',
  DeadlineExceeded = 'deadline_exceeded',
  Internal = 'internal',
}

/** The one error class of the project: a code, a message naming what is wrong, optional field. */
export class PersonaStreamError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'PersonaStreamError';
  }
}
