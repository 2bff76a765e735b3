import type { FieldError } from '@registra/core';

/** The action was not saved: it is not allowed now, or its declaration is not valid. */
export class ActionRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'ActionRefused';
  }
}

/** The session is gone (refresh token expired or revoked): log in again; nothing is lost. */
export class LoginRequired extends Error {
  constructor(message = 'log in again to sync; everything on this device is kept') {
    super(message);
    this.name = 'LoginRequired';
  }
}

/** Wrong credentials, or an offline unlock with a password this device does not know. */
export class InvalidCredentials extends Error {
  constructor(message = 'wrong username or password') {
    super(message);
    this.name = 'InvalidCredentials';
  }
}

/** The server answered with a problem the client cannot fix by retrying. */
export class ServerProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ServerProblem';
  }
}

/** The network or the server failed; retry later. */
export class Unreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Unreachable';
  }
}
