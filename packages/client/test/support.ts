import { Dexie } from 'dexie';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { createClient, type ClientOptions, type RegistraClient } from '../src/index.js';
import { PASSWORD, type TestServer } from '../../server/test/harness.js';

export { PASSWORD };

/** A device: an SDK instance over its own fake IndexedDB, talking to the test server over HTTP. */
export interface TestDevice {
  client: RegistraClient;
  indexedDB: IDBFactory;
  /** The device's raw IndexedDB, to play a restored backup or a token that expired. */
  raw(name: string): Dexie;
  /** Another SDK instance on the same storage: what a reload or a browser restart gives. */
  reopen(): RegistraClient;
  /** Another SDK instance on the same storage, open alongside this one: another tab. */
  tab(options?: Partial<ClientOptions>): RegistraClient;
}

export function testDevice(server: TestServer, options: Partial<ClientOptions> = {}): TestDevice {
  const indexedDB = new IDBFactory();
  const make = (more: Partial<ClientOptions> = {}) =>
    createClient({
      baseUrl: server.url,
      indexedDB,
      IDBKeyRange,
      backgroundSync: false,
      lockAfterMs: 0,
      ...options,
      ...more,
    });
  const device: TestDevice = {
    client: make(),
    indexedDB,
    raw: (name) => new Dexie(name, { indexedDB, IDBKeyRange }),
    reopen: () => (device.client = make()),
    tab: (more) => make(more),
  };
  return device;
}

/** A fetch that the test can break: fail before sending, or lose the answer after the server acted. */
export class FlakyNetwork {
  mode: 'up' | 'down' | 'lose-answers' = 'up';
  lost = 0;

  readonly fetch: typeof fetch = async (input, init) => {
    if (this.mode === 'down') throw new TypeError('fetch failed: network is down');
    const response = await fetch(input, init);
    if (this.mode === 'lose-answers' && String(input).endsWith('/api/v1/sync')) {
      await response.arrayBuffer();
      this.lost += 1;
      throw new TypeError('fetch failed: connection reset');
    }
    return response;
  };
}
