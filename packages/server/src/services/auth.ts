import { v7 as uuidv7 } from 'uuid';
import { insertRefreshToken, revokeFamily, useRefreshToken } from '../store/tokens.js';
import { findUserById, findUserWithHash, type UserRow } from '../store/users.js';
import type { Caller, Registry } from './context.js';
import { LoginThrottle, type LoginLimits } from './login-throttle.js';
import { hashingBusy, passwordHasher, type PasswordHasher } from './passwords.js';
import { forbidden, unauthorized } from './problem.js';
import { hookCaller } from './hooks/caller.js';
import { HOOK_PRINCIPAL_PREFIX } from '@registra/core';
import {
  ACCESS_TOKEN_SECONDS,
  hashRefreshToken,
  newRefreshToken,
  REFRESH_TOKEN_DAYS,
  type Signer,
} from './tokens.js';

export type TokenRequest =
  | { grant_type: 'password'; username: string; password: string }
  | { grant_type: 'refresh_token'; refreshToken: string }
  | { grant_type: 'client_credentials'; client_id: string; client_secret: string };

export interface PublicUser {
  id: string;
  username: string;
  name: string;
  role: string;
  scopes: string[];
  officeId: string;
}

export interface TokenResponse {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user: PublicUser;
}

const invalidCredentials = () => unauthorized('INVALID_CREDENTIALS', 'wrong username or password');

export interface AuthOptions {
  /** Default: the process's shared hasher (passwords.ts). */
  hasher?: PasswordHasher;
  /** Default: PROTOCOL 7's limits. */
  loginLimits?: LoginLimits;
}

export class AuthService {
  readonly #hasher: PasswordHasher;
  readonly #throttle: LoginThrottle;

  constructor(
    private readonly registry: Registry,
    readonly signer: Signer,
    options: AuthOptions = {},
  ) {
    this.#hasher = options.hasher ?? passwordHasher();
    this.#throttle = new LoginThrottle(registry, options.loginLimits);
  }

  /** `address`: the caller's network address, which failed logins are also counted against. */
  async token(request: TokenRequest, address: string): Promise<TokenResponse> {
    switch (request.grant_type) {
      case 'password':
        return this.#issue(
          await this.#checkSecret(request.username, request.password, 'user', address),
          uuidv7(),
        );
      case 'client_credentials':
        return this.#issue(
          await this.#checkSecret(request.client_id, request.client_secret, 'client', address),
          uuidv7(),
        );
      case 'refresh_token':
        return this.#refresh(request.refreshToken);
    }
  }

  /** A person's password or a machine client's secret: throttled per username and address. */
  #checkSecret(
    username: string,
    secret: string,
    kind: UserRow['kind'],
    address: string,
  ): Promise<UserRow> {
    // A flood that fills the hashing queue is refused before it costs a database transaction.
    if (this.#hasher.saturated) throw hashingBusy();
    return this.#throttle.attempt(username, address, async () => {
      const user = await findUserWithHash(this.registry.db, username);
      const matches = await this.#hasher.verify(secret, user?.passwordHash ?? null);
      if (!user || !matches || !user.active || user.kind !== kind) throw invalidCredentials();
      return user;
    });
  }

  /**
   * Rotation: a refresh token works once. Presenting one that was already used means it leaked,
   * so its whole family is revoked and the person must log in again.
   */
  async #refresh(refreshToken: string): Promise<TokenResponse> {
    const found = await useRefreshToken(this.registry.db, hashRefreshToken(refreshToken));
    const invalid = () => unauthorized('INVALID_CREDENTIALS', 'the refresh token is not valid');
    if (!found) throw invalid();
    const { token, won } = found;
    if (!won) {
      await revokeFamily(this.registry.db, token.family);
      throw invalid();
    }
    if (token.revokedAt !== null || token.expiresAt <= this.registry.now()) throw invalid();
    const user = await findUserById(this.registry.db, token.userId);
    if (!user || !user.active) throw invalid();
    return this.#issue(user, token.family);
  }

  async #issue(user: UserRow, family: string): Promise<TokenResponse> {
    const refresh = newRefreshToken();
    await insertRefreshToken(this.registry.db, {
      id: uuidv7(),
      userId: user.id,
      family,
      tokenHash: refresh.hash,
      expiresAt: new Date(this.registry.now().getTime() + REFRESH_TOKEN_DAYS * 86_400_000),
    });
    return {
      accessToken: await this.signer.sign({ sub: user.id, role: user.role, office: user.officeId }),
      refreshToken: refresh.token,
      tokenType: 'Bearer',
      expiresIn: ACCESS_TOKEN_SECONDS,
      user: this.publicUser(user),
    };
  }

  /**
   * The caller behind an access token; a deactivated user's tokens stop working at once. A hook's
   * confirmation token (PROTOCOL 8) is a caller only where `confirmations` allows it (POST
   * /actions), and only while its hook is on; anywhere else it opens nothing.
   */
  async authenticate(
    authorization: string | undefined,
    { confirmations = false }: { confirmations?: boolean } = {},
  ): Promise<Caller> {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization ?? '');
    if (!match)
      throw unauthorized('UNAUTHENTICATED', 'send an access token: Authorization: Bearer <token>');
    let subject: string;
    let request: string | undefined;
    try {
      ({ sub: subject, req: request } = await this.signer.verify(match[1] as string));
    } catch {
      throw unauthorized('INVALID_TOKEN', 'the access token is invalid or expired');
    }
    if (subject.startsWith(HOOK_PRINCIPAL_PREFIX)) {
      const hookId = subject.slice(HOOK_PRINCIPAL_PREFIX.length);
      if (!request || !this.registry.config.hooks.has(hookId))
        throw unauthorized('INVALID_TOKEN', 'the confirmation token is no longer valid');
      if (!confirmations) {
        throw forbidden(
          'a confirmation token only sends the APPROVE or DECLINE of its request to POST /api/v1/actions',
        );
      }
      return hookCaller(this.registry, hookId, request);
    }
    const user = /^[0-9a-f-]{36}$/.test(subject)
      ? await findUserById(this.registry.db, subject)
      : undefined;
    if (!user || !user.active)
      throw unauthorized('INVALID_TOKEN', 'the access token is no longer valid');
    return { user, principal: this.registry.config.principal(user) };
  }

  publicUser(user: UserRow): PublicUser {
    const role = this.registry.config.roles.get(user.role);
    const scopes = (role?.permissions ?? []).map((g) => (typeof g === 'string' ? g : g.permission));
    return {
      id: user.id,
      username: user.username,
      name: user.name,
      role: user.role,
      scopes,
      officeId: user.officeId,
    };
  }
}
