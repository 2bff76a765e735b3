import { signOnAccount, type SingleSignOn } from '@registra/core';
import { createHash, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { v7 as uuidv7 } from 'uuid';
import {
  findIdentity,
  insertIdentity,
  insertSignOnCode,
  insertSignOnRequest,
  takeSignOnRequest,
  updateSignedOnUser,
} from '../store/sign-on.js';
import { findUserById, insertUser, type UserRow } from '../store/users.js';
import type { Registry } from './context.js';
import { ProblemError } from './problem.js';

/**
 * Single sign-on for staff (issue 14) through an external OpenID Connect provider, with
 * openid-client: the authorization code flow with PKCE (S256), state and nonce. The server is
 * the OpenID client (a confidential one with a secret, or a public one without); the person's
 * browser goes to the provider and comes back to the callback, which maps the provider's claims
 * to a role and an office (core's signOnAccount, by the configuration's `singleSignOn`), makes
 * or updates the user linked to the provider's account, and hands the web app a one-time code.
 * The app exchanges that code at POST /auth/token (`grant_type: "sign_on_code"`) for Registra's
 * own tokens, as a password login gives them; it then asks the person for an offline passphrase,
 * which is what unlocks the device without network (the SDK's verifier).
 *
 * A refusal (claims that map to no role or office, a username already used by a password
 * account, a deactivated user) changes no user and says why.
 */

export interface SignOnOptions {
  /** The provider's issuer URL (its discovery document is under it). */
  issuer: string;
  clientId: string;
  /** Without a secret, Registra is a public client (PKCE alone). */
  clientSecret?: string | undefined;
  /** The provider's name on the login screen: "Sign in with <name>". */
  name: string;
  /** The deployment's public URL: the provider sends the person back under it. */
  publicUrl: string;
}

/** The password hash of a user who signs on only: no password matches it. */
export const NO_PASSWORD = '!sign-on';

/** How long a person may take at the provider, and the app to redeem its code. */
const REQUEST_SECONDS = 600;
const CODE_SECONDS = 300;

export const CALLBACK_PATH = '/api/v1/auth/sign-on/callback';

const refused = (code: string, detail: string) => new ProblemError(403, code, detail);

export const hashSignOnCode = (code: string) => createHash('sha256').update(code).digest('hex');

export class SignOn {
  #provider: Promise<oidc.Configuration> | null = null;

  constructor(
    private readonly registry: Registry,
    readonly options: SignOnOptions,
    private readonly mapping: SingleSignOn,
  ) {}

  get redirectUri(): string {
    return new URL(CALLBACK_PATH, this.options.publicUrl).href;
  }

  /** The provider's metadata, discovered once (again after a failure). */
  #discover(): Promise<oidc.Configuration> {
    if (!this.#provider) {
      const issuer = new URL(this.options.issuer);
      const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
      this.#provider = oidc
        .discovery(
          issuer,
          this.options.clientId,
          { redirect_uris: [this.redirectUri] },
          this.options.clientSecret
            ? oidc.ClientSecretBasic(this.options.clientSecret)
            : oidc.None(),
          // Plain HTTP only to a provider on this machine (tests, a trial install).
          loopback && issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {},
        )
        .catch((error: unknown) => {
          this.#provider = null;
          throw new ProblemError(
            503,
            'SIGN_ON_UNAVAILABLE',
            `the sign-on provider cannot be reached: ${error instanceof Error ? error.message : String(error)}`,
          );
        });
    }
    return this.#provider;
  }

  /** Where to send the person: the provider's authorization URL for a new sign-on. */
  async start(): Promise<URL> {
    const provider = await this.#discover();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    await insertSignOnRequest(this.registry.db, {
      state,
      codeVerifier,
      nonce,
      expiresAt: new Date(this.registry.now().getTime() + REQUEST_SECONDS * 1000),
    });
    return oidc.buildAuthorizationUrl(provider, {
      redirect_uri: this.redirectUri,
      scope: 'openid profile',
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
  }

  /**
   * The provider's redirect back (`callbackUrl`, with its query): checks it, maps the claims and
   * returns a one-time code for the web app. Throws a ProblemError that says why otherwise.
   */
  async finish(callbackUrl: URL): Promise<{ code: string; user: UserRow }> {
    const state = callbackUrl.searchParams.get('state');
    const request =
      state && (await takeSignOnRequest(this.registry.db, state, this.registry.now()));
    if (!request) {
      throw new ProblemError(
        400,
        'SIGN_ON_EXPIRED',
        'this sign-on is unknown, already used or too old: sign in again',
      );
    }
    const providerError = callbackUrl.searchParams.get('error');
    if (providerError) {
      const description = callbackUrl.searchParams.get('error_description');
      throw refused(
        'SIGN_ON_DENIED',
        `the provider did not sign you in (${providerError}${description ? `: ${description}` : ''})`,
      );
    }
    const provider = await this.#discover();
    let claims: Record<string, unknown>;
    try {
      const tokens = await oidc.authorizationCodeGrant(provider, callbackUrl, {
        pkceCodeVerifier: request.codeVerifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
        idTokenExpected: true,
      });
      const idClaims = tokens.claims();
      if (!idClaims) throw new Error('no ID token');
      // Providers put the profile in the ID token or only behind userinfo: both are read.
      const userinfo = await oidc.fetchUserInfo(provider, tokens.access_token, idClaims.sub);
      claims = { ...userinfo, ...idClaims };
    } catch (error) {
      throw new ProblemError(
        502,
        'SIGN_ON_FAILED',
        `the sign-on could not be completed with the provider: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const user = await this.#account(provider.serverMetadata().issuer, claims);
    const code = randomBytes(32).toString('base64url');
    await insertSignOnCode(this.registry.db, {
      hash: hashSignOnCode(code),
      userId: user.id,
      expiresAt: new Date(this.registry.now().getTime() + CODE_SECONDS * 1000),
    });
    return { code, user };
  }

  /** The user of the provider's account: made on first sign-on, kept to the claims after. */
  async #account(issuer: string, claims: Record<string, unknown>): Promise<UserRow> {
    const account = signOnAccount(this.registry.config, this.mapping, claims);
    if (!account.ok) throw refused(account.code, account.detail);
    const subject = String(claims['sub']);
    return this.registry.db.transaction().execute(async (trx) => {
      const linked = await findIdentity(trx, issuer, subject);
      if (linked) {
        const user = await findUserById(trx, linked);
        if (!user || !user.active) {
          throw refused('USER_INACTIVE', 'your Registra account is deactivated');
        }
        await updateSignedOnUser(trx, user.id, account);
        return { ...user, name: account.name, role: account.role, officeId: account.officeId };
      }
      const user: UserRow = {
        id: uuidv7(),
        username: account.username,
        name: account.name,
        role: account.role,
        officeId: account.officeId,
        kind: 'user',
        active: true,
      };
      const inserted = await insertUser(trx, { ...user, passwordHash: NO_PASSWORD });
      if (!inserted) {
        throw refused(
          'USERNAME_TAKEN',
          `the username "${account.username}" belongs to another Registra account: an administrator must rename one`,
        );
      }
      await insertIdentity(trx, { issuer, subject, userId: user.id });
      return user;
    });
  }
}
