import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { InvalidCredentials } from '../src/index.js';
import { startTestServer, type TestServer } from '../../server/test/harness.js';
import { signOnAs, testProvider, type TestProvider } from '../../server/test/oidc.js';
import { FlakyNetwork, testDevice } from './support.js';

/**
 * A person who signs on through an OpenID Connect provider has no Registra password: the SDK
 * keeps a verifier of the passphrase they choose on the device instead, and offline unlock works
 * with it as it does with a password.
 */
let server: TestServer;
let provider: TestProvider;
beforeAll(async () => {
  provider = testProvider();
  server = await startTestServer('civil-registry', { signOn: provider.signOn });
  await provider.start(server.url);
});
afterAll(async () => {
  await provider.close();
  await server.close();
});

describe('offline unlock after a single sign-on', () => {
  it('unlocks with the passphrase chosen at sign-on, and syncs when back online', async () => {
    const code = (await signOnAs(server.url, 'sub-agent')).get('code');
    expect(code).toBeTruthy();
    const network = new FlakyNetwork();
    const device = testDevice(server, { fetch: network.fetch });
    const user = await device.client.signOn(code as string, 'a long passphrase');
    expect(user).toMatchObject({ username: 'daliso.sso', role: 'field-agent' });
    expect(await device.client.knownUsers()).toEqual(['daliso.sso']);

    network.mode = 'down';
    device.client.lock();
    const reopened = device.reopen();
    await expect(reopened.unlock('daliso.sso', 'not the passphrase')).rejects.toBeInstanceOf(
      InvalidCredentials,
    );
    expect(await reopened.unlock('daliso.sso', 'a long passphrase')).toMatchObject({
      username: 'daliso.sso',
    });
    const recordId = uuidv7();
    await reopened.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });

    network.mode = 'up';
    expect((await reopened.sync.now()).accepted).toBe(1);
    reopened.close();
  });

  it('refuses a code that was already used', async () => {
    const code = (await signOnAs(server.url, 'sub-ama')).get('code') as string;
    const first = testDevice(server);
    await first.client.signOn(code, 'a long passphrase');
    const second = testDevice(server);
    await expect(second.client.signOn(code, 'another passphrase')).rejects.toBeInstanceOf(
      InvalidCredentials,
    );
    first.client.close();
    second.client.close();
  });
});
